"""Flow fields and warping, with the official (PIRenderer) conventions kept exactly.

The sampling grid is built with align-corners-style coordinates, yet `grid_sample` runs with
`align_corners=False`; the released checkpoints were trained with this mismatch, so it stays.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def coordinate_grid(batch: int, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 2) grid of x, y in [-1, 1], computed as 2 * (i / (n - 1)) - 1."""
    x = 2 * (torch.arange(width, device=like.device).to(like.dtype) / (width - 1)) - 1
    y = 2 * (torch.arange(height, device=like.device).to(like.dtype) / (height - 1)) - 1
    grid = torch.stack([x.view(1, -1).expand(height, width), y.view(-1, 1).expand(height, width)], dim=2)
    return grid.unsqueeze(0).expand(batch, -1, -1, -1)


def flow_to_grid(flow: torch.Tensor) -> torch.Tensor:
    """Flow in pixels (B, 2, H, W), x first -> sampling grid (B, H, W, 2)."""
    batch, _, height, width = flow.shape
    normalised = 2 * torch.cat([flow[:, :1] / (width - 1), flow[:, 1:] / (height - 1)], dim=1)
    return coordinate_grid(batch, height, width, flow) + normalised.permute(0, 2, 3, 1)


def warp(source: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear, zero-padded `grid_sample` (align_corners=False); the grid is resized to the source first if needed.
    The source is one feature (batch 1, or expanded) or one per grid. The result has the source's dtype and layout
    (channels_last stays channels_last).

    Reduced-precision (bf16/fp16) sources are sampled in fp32 and the result cast back: PyTorch's bf16
    sampling is inaccurate (max error 1.25 on unit-scale features against float64, 0.015 this way;
    measured on the CPU), and its CPU kernel returns NaN for bf16/fp16 channels_last input (torch 2.13).
    CPU inference on a channels_last source gathers its pixel rows instead of calling `grid_sample`
    (`_gather_bilinear`): the same values, about 3x faster, and no transposing copy of the result.
    """
    sampling = torch.promote_types(source.dtype, torch.float32)
    height, width = source.shape[-2:]
    if grid.shape[1:3] != (height, width):
        grid = F.interpolate(grid.permute(0, 3, 1, 2), size=(height, width), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
    frames = grid.shape[0]
    one_source = source.shape[0] == 1 or source.stride(0) == 0  # one feature for every grid: cast it once
    if not one_source and source.shape[0] != frames:
        raise ValueError(f"warp: {source.shape[0]} sources for {frames} grids; give one source or one per grid")
    base, grid = (source[:1] if one_source else source).to(sampling), grid.to(sampling)
    channels_last = source.stride(1) == 1 and source.shape[1] > 1
    if channels_last and source.device.type == "cpu" and not (torch.is_grad_enabled() and (source.requires_grad or grid.requires_grad)):
        return _gather_bilinear(base, grid).to(source.dtype)
    out = F.grid_sample(base.expand(frames, -1, -1, -1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.to(source.dtype, memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def _gather_bilinear(source: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """grid_sample(source, grid, bilinear, zeros, align_corners=False) for a channels_last source (one, or one per
    grid), channels_last out.

    Each output pixel is the weighted sum of four source pixel rows (C contiguous values each), which
    `embedding_bag` computes in one pass. Coordinates and weights are computed as PyTorch's vectorised CPU
    kernel computes them, (g + 1) * size / 2 - 0.5, so the result is the same (bit-identical in tests);
    taps outside the source get weight 0.
    """
    batch, channels, height, width = source.shape
    frames, out_height, out_width, _ = grid.shape
    rows = source.permute(0, 2, 3, 1).reshape(-1, channels)
    x = (grid[..., 0] + 1) * (width / 2) - 0.5
    y = (grid[..., 1] + 1) * (height / 2) - 0.5
    left, top = x.floor(), y.floor()
    right_weight, bottom_weight = x - left, y - top
    left_weight, top_weight = 1 - right_weight, 1 - bottom_weight
    weights = torch.stack([top_weight * left_weight, top_weight * right_weight, bottom_weight * left_weight, bottom_weight * right_weight], -1)
    xs = torch.stack([left, left + 1, left, left + 1], -1)
    ys = torch.stack([top, top, top + 1, top + 1], -1)
    inside = (xs >= 0) & (xs <= width - 1) & (ys >= 0) & (ys <= height - 1)
    index = torch.where(inside, ys * width + xs, 0).long()
    if batch > 1:
        index += torch.arange(frames, device=index.device).view(-1, 1, 1, 1) * (height * width)
    weights = torch.where(inside, weights, 0)
    out = F.embedding_bag(index.view(-1, 4), rows, per_sample_weights=weights.view(-1, 4), mode="sum")
    return out.view(frames, out_height, out_width, channels).permute(0, 3, 1, 2)
