"""Putting generated aligned frames back into the full-resolution originals through a feathered mask.

A whole chunk is pasted in one batched call (kornia warps and blur, on the CPU or a GPU): each
generated face and the aligned mask are warped into the box of the originals that the crops cover,
blended there, and written into copies of the originals.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch
from kornia.filters import gaussian_blur2d

from .ffhq_align import AlignTransform
from .images import to_rgb_uint8
from .warp import warp_affine_batch

MASK_SHAPES = ("face", "square")
# Face ellipse in aligned units (FFHQ layout): centre and radii as fractions of the side.
_FACE_CENTRE, _FACE_RADII = (0.5, 0.55), (0.36, 0.43)


@dataclass
class PasteResult:
    """Composited frames (N, H, W, 3) uint8 and the blend masks (N, H, W) float32 in [0, 1]."""

    frames: np.ndarray
    masks: np.ndarray


def check_mask_options(shape: str, feather: float) -> None:
    if shape not in MASK_SHAPES:
        raise ValueError(f"mask shape must be one of {MASK_SHAPES}; got '{shape}'")
    if not 0.0 < feather <= 0.25:
        raise ValueError(f"feather must be in (0, 0.25] (a fraction of the crop side); got {feather}")


@lru_cache(maxsize=8)
def _mask(size: int, shape: str, feather: float) -> torch.Tensor:
    check_mask_options(shape, feather)
    sigma = feather * size
    inset = int(np.ceil(2.5 * sigma))
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij")
    if shape == "face":
        (cx, cy), (rx, ry) = ((round(c * size) for c in _FACE_CENTRE), (round(r * size) for r in _FACE_RADII))
        mask = (((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0).float()
    else:
        inside = (xs >= inset) & (xs < size - inset) & (ys >= inset) & (ys < size - inset)
        mask = inside.float()
    kernel = min(2 * round(4 * sigma) + 1, 2 * size - 1)
    mask = gaussian_blur2d(mask[None, None], (kernel, kernel), (sigma, sigma), border_type="reflect")[0, 0]
    ramp = (torch.minimum(torch.arange(size), torch.arange(size).flip(0)).float() / max(inset, 1)).clamp(0.0, 1.0)
    return mask * torch.minimum(ramp[:, None], ramp[None, :])


def aligned_mask(size: int, shape: str = "face", feather: float = 0.06) -> np.ndarray:
    """Soft (size, size) float32 mask in aligned pixels; it falls to 0 before the crop border.

    shape='face' is an ellipse over the FFHQ face region, 'square' the whole crop; feather is the
    blur width as a fraction of the side.
    """
    return _mask(size, shape, float(feather)).numpy().copy()


def _region(transforms: Sequence[AlignTransform], height: int, width: int) -> tuple[int, int, int, int]:
    """The box [left, top, right, bottom) of the originals that any of the crops covers (clipped to the frame)."""
    corners = np.concatenate([t.quad for t in transforms])
    left, top = (max(int(np.floor(v)) - 1, 0) for v in corners.min(axis=0))
    right, bottom = (int(np.ceil(v)) + 2 for v in corners.max(axis=0))
    return left, top, min(right, width), min(bottom, height)


def paste_back_batch(
    originals: torch.Tensor, generated: torch.Tensor, transforms: Sequence[AlignTransform], shape: str = "face", feather: float = 0.06
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B|1, H, W, 3) uint8 originals + (B, S, S, 3) uint8 generated aligned faces + B (or 1) transforms
    -> composited (B, H, W, 3) uint8 and masks (B, H, W) float32, on the generated frames' device."""
    count = generated.shape[0]
    if generated.dim() != 4 or generated.shape[1] != generated.shape[2] or generated.shape[-1] != 3:
        raise ValueError(f"generated frames must be square RGB aligned crops (B, S, S, 3); got shape {tuple(generated.shape)}")
    if originals.dim() != 4 or originals.shape[-1] != 3:
        raise ValueError(f"original frames must be RGB images (B, H, W, 3); got shape {tuple(originals.shape)}")
    if originals.shape[0] not in (1, count) or len(transforms) not in (1, count):
        raise ValueError(f"paste-back needs one original and one transform per generated frame (or one shared); got {originals.shape[0]}, {len(transforms)}, {count}")
    device, size = generated.device, generated.shape[1]
    transforms = [t.resized(size) for t in (transforms if len(transforms) == count else list(transforms) * count)]
    height, width = originals.shape[1:3]
    result = originals.to(device).expand(count, -1, -1, -1).clone()
    masks = torch.zeros((count, height, width), dtype=torch.float32, device=device)
    left, top, right, bottom = _region(transforms, height, width)
    if right <= left or bottom <= top:
        return result, masks
    to_region = np.stack([np.array([[1.0, 0.0, -left], [0.0, 1.0, -top], [0.0, 0.0, 1.0]]) @ t.inverse for t in transforms])
    mask = _mask(size, shape, float(feather)).to(device)[None, None].expand(count, 1, -1, -1)
    sources = torch.cat([generated.permute(0, 3, 1, 2).float(), mask], dim=1)
    warped = warp_affine_batch(sources, to_region, (right - left, bottom - top))
    region_face, region_mask = warped[:, :3], warped[:, 3:].clamp(0.0, 1.0)
    region = result[:, top:bottom, left:right].permute(0, 3, 1, 2).float()
    blended = region + (region_face - region) * region_mask
    result[:, top:bottom, left:right] = blended.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    masks[:, top:bottom, left:right] = region_mask[:, 0]
    return result, masks


def paste_back_frame(
    original: np.ndarray, generated: np.ndarray, transform: AlignTransform, shape: str = "face", feather: float = 0.06
) -> tuple[np.ndarray, np.ndarray]:
    """One original frame (any layout) + one generated aligned frame -> (composited HxWx3 uint8, HxW mask)."""
    frame = torch.from_numpy(to_rgb_uint8(original, "original frame"))[None]
    face = torch.from_numpy(to_rgb_uint8(generated, "generated frame"))[None]
    pasted, mask = paste_back_batch(frame, face, [transform], shape, feather)
    return pasted[0].numpy(), mask[0].numpy()


def paste_back(
    originals: np.ndarray | Sequence[np.ndarray],
    generated: np.ndarray | Sequence[np.ndarray],
    transforms: AlignTransform | Sequence[AlignTransform],
    shape: str = "face",
    feather: float = 0.06,
) -> PasteResult:
    """Paste N generated aligned frames into N originals (a single original or transform is reused for every frame)."""
    generated = [generated] if isinstance(generated, np.ndarray) and generated.ndim == 3 else list(generated)
    count = len(generated)
    originals = [originals] * count if isinstance(originals, np.ndarray) and originals.ndim in (2, 3) else list(originals)
    transforms = [transforms] * count if isinstance(transforms, AlignTransform) else list(transforms)
    if not len(originals) == len(transforms) == count:
        raise ValueError(f"paste-back needs one original and one transform per generated frame; got {len(originals)}, {len(transforms)}, {count}")
    frames = torch.from_numpy(np.stack([to_rgb_uint8(o, "original frame") for o in originals]))
    faces = torch.from_numpy(np.stack([to_rgb_uint8(g, "generated frame") for g in generated]))
    pasted, masks = paste_back_batch(frames, faces, transforms, shape, feather)
    return PasteResult(pasted.numpy(), masks.numpy())
