"""Putting generated aligned frames back into the full-resolution originals through a feathered mask."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import cv2
import numpy as np

from .ffhq_align import AlignTransform
from .images import to_rgb_uint8
from .warp import warp_affine

MASK_SHAPES = ("face", "square")
# Face ellipse in aligned units (FFHQ layout): centre and radii as fractions of the side.
_FACE_CENTRE, _FACE_RADII = (0.5, 0.55), (0.36, 0.43)


@dataclass
class PasteResult:
    """Composited frames (N, H, W, 3) uint8 and the blend masks (N, H, W) float32 in [0, 1]."""

    frames: np.ndarray
    masks: np.ndarray


@lru_cache(maxsize=8)
def aligned_mask(size: int, shape: str = "face", feather: float = 0.06) -> np.ndarray:
    """Soft (size, size) float32 mask in aligned pixels; it falls to 0 before the crop border.

    shape='face' is an ellipse over the FFHQ face region, 'square' the whole crop; feather is the
    blur width as a fraction of the side.
    """
    if shape not in MASK_SHAPES:
        raise ValueError(f"mask shape must be one of {MASK_SHAPES}; got '{shape}'")
    if not 0.0 < feather <= 0.25:
        raise ValueError(f"feather must be in (0, 0.25] (a fraction of the crop side); got {feather}")
    sigma = feather * size
    inset = int(np.ceil(2.5 * sigma))
    mask = np.zeros((size, size), dtype=np.float32)
    if shape == "face":
        centre = (round(_FACE_CENTRE[0] * size), round(_FACE_CENTRE[1] * size))
        cv2.ellipse(mask, centre, (round(_FACE_RADII[0] * size), round(_FACE_RADII[1] * size)), 0, 0, 360, 1.0, -1)
    else:
        mask[inset : size - inset, inset : size - inset] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    ramp = np.clip(np.minimum(np.arange(size), np.arange(size)[::-1]) / max(inset, 1), 0.0, 1.0).astype(np.float32)
    return mask * np.minimum(ramp[:, None], ramp[None, :])


def paste_back_frame(
    original: np.ndarray, generated: np.ndarray, transform: AlignTransform, shape: str = "face", feather: float = 0.06
) -> tuple[np.ndarray, np.ndarray]:
    """One original frame (any layout) + one generated aligned frame -> (composited HxWx3 uint8, HxW mask)."""
    frame = to_rgb_uint8(original, "original frame")
    face = to_rgb_uint8(generated, "generated frame")
    if face.shape[0] != face.shape[1]:
        raise ValueError(f"generated frames must be square aligned crops; got {face.shape[1]}x{face.shape[0]}")
    transform = transform.resized(face.shape[0])
    height, width = frame.shape[:2]
    corners = transform.quad
    left, top = (max(int(np.floor(v)) - 1, 0) for v in corners.min(axis=0))
    right, bottom = (int(np.ceil(v)) + 2 for v in corners.max(axis=0))
    right, bottom = min(right, width), min(bottom, height)
    mask = np.zeros((height, width), dtype=np.float32)
    if right <= left or bottom <= top:
        return frame.copy(), mask
    to_region = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top], [0.0, 0.0, 1.0]]) @ transform.inverse
    size = (right - left, bottom - top)
    region_mask = np.clip(warp_affine(aligned_mask(face.shape[0], shape, feather), to_region, size), 0.0, 1.0)
    region_face = warp_affine(face, to_region, size).astype(np.float32)
    result = frame.copy()
    region = result[top:bottom, left:right].astype(np.float32)
    blended = region + (region_face - region) * region_mask[..., None]
    result[top:bottom, left:right] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    mask[top:bottom, left:right] = region_mask
    return result, mask


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
    pasted = [paste_back_frame(o, g, t, shape, feather) for o, g, t in zip(originals, generated, transforms)]
    return PasteResult(np.stack([p[0] for p in pasted]), np.stack([p[1] for p in pasted]))
