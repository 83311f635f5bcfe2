"""Affine image warps (kornia, batched, CPU or GPU) that stay sharp when enlarging and do not alias when shrinking.

Matrices are 3x3 maps from source pixels to output pixels with pixel centres at integer coordinates
(the cv2 convention; kornia's `align_corners=True`). Only the source region the outputs see is read;
where the outputs are more than 2x smaller, that region is first shrunk by an integer factor with
area averaging, then resampled bicubically.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from kornia.geometry.transform import warp_affine as kornia_warp_affine

BORDERS = {"constant": "zeros", "reflect": "reflection", "replicate": "border"}


def resize_matrix(width: int, height: int, new_width: int, new_height: int) -> np.ndarray:
    """3x3 map of pixel coordinates (centres at integers) from a WxH image to its resize to new_width x new_height."""
    sx, sy = new_width / width, new_height / height
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def apply_matrix(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (..., 2) points through the affine part of a 3x3 matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:2, :2].T + matrix[:2, 2]


def _translation(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


def _seen_region(matrices: np.ndarray, size: tuple[int, int], source: tuple[int, int]) -> tuple[tuple[int, int, int, int], int]:
    """The source box [left, top, right, bottom) every output pixel reads (with the bicubic margin), and the area-shrink factor."""
    width, height = size
    to_source = np.linalg.inv(matrices)
    corners = np.array([[-1, -1, 1], [width, -1, 1], [-1, height, 1], [width, height, 1]], dtype=np.float64).T
    seen = (to_source @ corners)[:, :2]
    footprints = np.sqrt(np.abs(np.linalg.det(to_source[:, :2, :2])))
    margin = int(np.ceil(footprints.max())) + 3
    left, top = (max(int(np.floor(v)) - margin, 0) for v in seen.min(axis=(0, 2)))
    right, bottom = (int(np.ceil(v)) + margin for v in seen.max(axis=(0, 2)))
    right, bottom = min(right, source[1]), min(bottom, source[0])
    shrink = int(footprints.min()) if footprints.min() >= 2.0 else 1
    return (left, top, right, bottom), shrink


def warp_affine_batch(images: torch.Tensor, matrices: np.ndarray, size: tuple[int, int], border: str = "constant") -> torch.Tensor:
    """Warp (B, C, H, W) float images by (B, 3, 3) or (3, 3) `matrices` (source pixel -> output pixel) to size (width, height).

    Returns (B, C, height, width) in the images' dtype and device, values not clamped (bicubic overshoots).
    """
    if border not in BORDERS:
        raise ValueError(f"border must be one of {sorted(BORDERS)}; got '{border}'")
    matrices = np.broadcast_to(np.asarray(matrices, dtype=np.float64), (images.shape[0], 3, 3))
    width, height = size
    (left, top, right, bottom), shrink = _seen_region(matrices, size, images.shape[-2:])
    if right <= left or bottom <= top:
        return images.new_zeros((images.shape[0], images.shape[1], height, width))
    region = images[..., top:bottom, left:right]
    matrices = matrices @ _translation(left, top)
    if shrink > 1:
        small = (max(1, round(region.shape[-2] / shrink)), max(1, round(region.shape[-1] / shrink)))
        matrices = matrices @ np.linalg.inv(resize_matrix(region.shape[-1], region.shape[-2], small[1], small[0]))
        region = F.interpolate(region, size=small, mode="area")
    affine = torch.as_tensor(matrices[:, :2], dtype=images.dtype, device=images.device)
    return kornia_warp_affine(region, affine, (height, width), mode="bicubic", padding_mode=BORDERS[border], align_corners=True)


def warp_affine(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], border: str = "constant") -> np.ndarray:
    """Warp one image (HxW or HxWxC, uint8 or float32) by the 3x3 `matrix` to size (width, height); same dtype out."""
    array = np.asarray(image)
    planes = array[..., None] if array.ndim == 2 else array
    tensor = torch.from_numpy(np.ascontiguousarray(planes)).permute(2, 0, 1)[None].float()
    out = warp_affine_batch(tensor, matrix, size, border)[0].permute(1, 2, 0)
    if array.dtype == np.uint8:
        out = out.round().clamp(0, 255).to(torch.uint8)
    result = out.numpy().astype(array.dtype, copy=False)
    return result[..., 0] if array.ndim == 2 else result
