"""The one place where frames change representation.

Three forms meet in this pack: network tensors (B,3,H,W) in [-1, 1]; image batches (B,H,W,3) float32
in [0, 1] on the CPU (ComfyUI's IMAGE, also what the CLI streams); and 8-bit RGB arrays (B,H,W,3)
for the face tools and video files.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange


def image_to_network(image: torch.Tensor, what: str = "image") -> torch.Tensor:
    """IMAGE (B,H,W,3|4) in [0,1] -> (B,3,H,W) float32 in [-1,1] (alpha dropped)."""
    if image.dim() != 4 or image.shape[-1] not in (3, 4):
        raise ValueError(f"{what} must be an image batch (B, H, W, 3); got shape {tuple(image.shape)}")
    if image.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch (0 images); connect an image")
    return rearrange(image[..., :3].float(), "b h w c -> b c h w") * 2.0 - 1.0


def _clamped_float(frames: torch.Tensor, size: int | None) -> torch.Tensor:
    """A new float32 copy of network frames clamped to [-1, 1], area-resized to `size` (the callers then work in place:
    a 1024² chunk is 50 MB per pass, so no pass allocates another)."""
    frames = frames.clamp(-1.0, 1.0).float()
    if size is not None and frames.shape[-1] != size:
        frames = F.interpolate(frames, size=(size, size), mode="area")
    return frames


def network_to_image(frames: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """(B,3,H,W) network output in [-1,1] -> IMAGE (B,size,size,3) float32 in [0,1] on the CPU (area-resized to `size`)."""
    frames = _clamped_float(frames, size)
    return rearrange(frames.add_(1.0).div_(2.0), "b c h w -> b h w c").cpu()


def network_to_uint8(frames: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """(B,3,H,W) network output in [-1,1] -> (B,size,size,3) uint8 RGB on the same device (what video files take)."""
    frames = _clamped_float(frames, size)
    return rearrange(frames.add_(1.0).div_(2.0).mul_(255).round_().to(torch.uint8), "b c h w -> b h w c")


def image_to_uint8(image: torch.Tensor) -> np.ndarray:
    """IMAGE (B,H,W,C) in [0,1] -> (B,H,W,3) uint8 RGB."""
    return (image[..., :3].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def uint8_to_image(frames: np.ndarray) -> torch.Tensor:
    """(B,H,W,3) uint8 RGB -> IMAGE float32 in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).float() / 255.0
