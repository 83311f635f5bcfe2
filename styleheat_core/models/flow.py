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
    The result has the source's dtype and layout (channels_last stays channels_last, cast and reordered in one copy).

    Reduced-precision (bf16/fp16) sources are sampled in fp32 and the result cast back: PyTorch's bf16
    sampling is inaccurate (max error 1.25 on unit-scale features against float64, 0.015 this way;
    measured on the CPU), its CPU kernel returns NaN for bf16/fp16 channels_last input (torch 2.13),
    and the fp32 kernel is about 4x faster there (2 cores).
    """
    sampling = torch.promote_types(source.dtype, torch.float32)
    height, width = source.shape[-2:]
    if grid.shape[1:3] != (height, width):
        grid = F.interpolate(grid.permute(0, 3, 1, 2), size=(height, width), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
    shared = source.shape[0] > 1 and source.stride(0) == 0  # one feature expanded to the batch: cast it once
    sampled = source[:1].to(sampling).expand_as(source) if shared else source.to(sampling)
    out = F.grid_sample(sampled, grid.to(sampling), mode="bilinear", padding_mode="zeros", align_corners=False)
    layout = torch.channels_last if source.stride(1) == 1 and source.shape[1] > 1 else torch.contiguous_format
    return out.to(source.dtype, memory_format=layout)
