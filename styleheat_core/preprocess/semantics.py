"""The 73-d StyleHEAT motion vector and its 27-frame windows, as the official dataset builds them.

73 = [expression 64 | angle 3 | translation 3 | crop scale s, tx, ty], unnormalised, taken from
Deep3DFaceRecon's 257 coefficients and the crop's trans_params.
"""

from __future__ import annotations

from typing import Sequence

import torch

EXPRESSION = slice(80, 144)
ANGLE = slice(224, 227)
TRANSLATION = slice(254, 257)
SEMANTIC_DIM = 73
POSE_START = 64
WINDOW_RADIUS = 13


def semantic_vector(coeff257: torch.Tensor, trans_params: torch.Tensor) -> torch.Tensor:
    """(B,257) coefficients + (B,5) or (5,) trans_params [w0, h0, s, tx, ty] -> (B,73) float32."""
    if coeff257.dim() != 2 or coeff257.shape[1] != 257:
        raise ValueError(f"Deep3D coefficients must have shape (B, 257); got {tuple(coeff257.shape)}")
    crop = torch.as_tensor(trans_params, dtype=torch.float32).reshape(-1, 5)[:, 2:].expand(coeff257.shape[0], 3)
    return torch.cat([coeff257[:, EXPRESSION], coeff257[:, ANGLE], coeff257[:, TRANSLATION], crop.to(coeff257)], dim=1).float()


def window_indices(frame: int, num_frames: int, radius: int = WINDOW_RADIUS) -> list[int]:
    """Frames frame-radius .. frame+radius, clamped to the sequence ends."""
    return [min(max(i, 0), num_frames - 1) for i in range(frame - radius, frame + radius + 1)]


def semantic_windows(coeffs: torch.Tensor, frame_indices: Sequence[int] | None = None, radius: int = WINDOW_RADIUS) -> torch.Tensor:
    """(N,73) per-frame vectors -> (len(frame_indices), 73, 2*radius+1) windows (all frames by default)."""
    coeffs = torch.as_tensor(coeffs, dtype=torch.float32)
    if coeffs.dim() != 2 or coeffs.shape[1] != SEMANTIC_DIM or coeffs.shape[0] == 0:
        raise ValueError(f"coefficients must have shape (N >= 1, {SEMANTIC_DIM}); got {tuple(coeffs.shape)}")
    frames = range(coeffs.shape[0]) if frame_indices is None else frame_indices
    index = torch.tensor([window_indices(int(f), coeffs.shape[0], radius) for f in frames], dtype=torch.long)
    return coeffs[index].permute(0, 2, 1)


def expression_only(driving: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """Keep the driving expression, take pose, translation and crop (columns 64:73) from the source vector."""
    result = driving.clone()
    result[..., POSE_START:] = torch.as_tensor(source).reshape(-1)[POSE_START:].to(result)
    return result
