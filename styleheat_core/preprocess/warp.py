"""Affine image warps that stay sharp when enlarging and do not alias when shrinking."""

from __future__ import annotations

import cv2
import numpy as np

BORDERS = {"constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT, "replicate": cv2.BORDER_REPLICATE}


def resize_matrix(width: int, height: int, new_width: int, new_height: int) -> np.ndarray:
    """3x3 map of pixel coordinates (centres at integers) from a WxH image to its resize to new_width x new_height."""
    sx, sy = new_width / width, new_height / height
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def apply_matrix(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (..., 2) points through the affine part of a 3x3 matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:2, :2].T + matrix[:2, 2]


def warp_affine(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], border: str = "constant") -> np.ndarray:
    """Warp `image` (HxW or HxWxC, uint8 or float32) by the 3x3 `matrix` (source pixel -> output pixel) to size (width, height).

    Only the source region the output sees is read; where the output is more than 2x smaller it is
    first shrunk by an integer factor with area averaging, then resampled bicubically.
    """
    if border not in BORDERS:
        raise ValueError(f"border must be one of {sorted(BORDERS)}; got '{border}'")
    width, height = size
    to_source = np.linalg.inv(matrix)
    corners = np.array([[-1, -1, 1], [width, -1, 1], [-1, height, 1], [width, height, 1]], dtype=np.float64).T
    seen = (to_source @ corners)[:2]
    footprint = np.sqrt(abs(np.linalg.det(to_source[:2, :2])))
    margin = int(np.ceil(footprint)) + 3
    left, top = (int(np.floor(v)) - margin for v in seen.min(axis=1))
    right, bottom = (int(np.ceil(v)) + margin for v in seen.max(axis=1))
    left, top = max(left, 0), max(top, 0)
    right, bottom = min(right, image.shape[1]), min(bottom, image.shape[0])
    if right <= left or bottom <= top:
        shape = (height, width) + image.shape[2:]
        return np.zeros(shape, dtype=image.dtype)
    region = image[top:bottom, left:right]
    matrix = matrix @ np.array([[1.0, 0.0, left], [0.0, 1.0, top], [0.0, 0.0, 1.0]])
    shrink = int(footprint) if footprint >= 2.0 else 1
    if shrink > 1:
        small = (max(1, round(region.shape[1] / shrink)), max(1, round(region.shape[0] / shrink)))
        matrix = matrix @ np.linalg.inv(resize_matrix(region.shape[1], region.shape[0], *small))
        region = cv2.resize(region, small, interpolation=cv2.INTER_AREA)
    return cv2.warpAffine(region, matrix[:2], (width, height), flags=cv2.INTER_CUBIC, borderMode=BORDERS[border])
