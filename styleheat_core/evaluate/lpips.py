"""LPIPS v0.1, AlexNet variant (the lpips package's default, as the paper used), on 8-bit RGB frames.

Frames are mapped to [-1, 1] (x / 127.5 - 1) at their own resolution; lower is more similar.
"""

from __future__ import annotations

import torch

from ..models.lpips import LPIPS


def to_signed_unit(frames: torch.Tensor) -> torch.Tensor:
    """(B,H,W,3) uint8 -> (B,3,H,W) float32 in [-1, 1]."""
    return frames.permute(0, 3, 1, 2).float() / 127.5 - 1.0


@torch.no_grad()
def lpips_distances(model: LPIPS, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """(B,H,W,3) uint8 pairs -> (B,) float64 LPIPS distances."""
    device = next(model.parameters()).device
    return model(to_signed_unit(pred).to(device), to_signed_unit(ref).to(device)).double().cpu()
