"""Conversions between ComfyUI IMAGE batches and network tensors."""

from __future__ import annotations

import torch


def image_to_tensor(image: torch.Tensor, what: str) -> torch.Tensor:
    """IMAGE (B,H,W,3) in [0,1] -> (B,3,H,W) in [-1,1]; square images only (aligned faces)."""
    if image.dim() != 4 or image.shape[-1] not in (3, 4):
        raise ValueError(f"{what} must be an IMAGE batch (B, H, W, 3); got shape {tuple(image.shape)}")
    if image.shape[1] != image.shape[2]:
        raise ValueError(f"{what} is {image.shape[2]}x{image.shape[1]}, not square: run it through StyleHEAT Face Align first")
    return image[..., :3].permute(0, 3, 1, 2).float() * 2.0 - 1.0
