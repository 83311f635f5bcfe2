"""Turning user images of any common layout into the 8-bit RGB arrays the face tools work on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

MIN_SIDE = 32


def to_rgb_uint8(image: np.ndarray, what: str = "image") -> np.ndarray:
    """HxW / HxWx1 / HxWx3 / HxWx4 array (uint8, uint16, or float in [0, 1]) -> contiguous HxWx3 uint8 RGB.

    Grey is repeated to three channels, alpha is composited over white, 16-bit and float are rounded to 8 bits.
    Images whose shorter side is under MIN_SIDE pixels are refused: no face can be found in them.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{what} must be a numpy array (H, W, C); got {type(image).__name__}. Convert tensors with .cpu().numpy() first")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"{what} must be HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA); got shape {image.shape}")
    if min(image.shape[:2]) < MIN_SIDE:
        raise ValueError(f"{what} is {image.shape[1]}x{image.shape[0]} pixels; faces need at least {MIN_SIDE} px (use a larger image)")
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    unit = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else _to_unit_float(image, what)
    if unit.ndim == 2:
        unit = np.repeat(unit[..., None], 3, axis=2)
    if unit.shape[2] == 4:
        unit = unit[..., :3] * unit[..., 3:] + (1.0 - unit[..., 3:])
    return np.ascontiguousarray(np.rint(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8))


def _to_unit_float(image: np.ndarray, what: str) -> np.ndarray:
    """Non-uint8 pixels as float32 in [0, 1]."""
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    if np.issubdtype(image.dtype, np.floating):
        low, high = float(np.nanmin(image)), float(np.nanmax(image))
        if not np.isfinite(image).all() or low < -1e-3 or high > 1.0 + 1e-3:
            raise ValueError(
                f"float {what} must hold finite values in [0, 1]; got range [{low:.4g}, {high:.4g}] (divide 0..255 data by 255)"
            )
        return image.astype(np.float32)
    raise ValueError(f"{what} has unsupported dtype {image.dtype}; use uint8, uint16 or float in [0, 1]")


def read_image(path: str | Path) -> np.ndarray:
    """An image file as RGB(A) or grey, keeping its bit depth (uint8 or uint16)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f"cannot read an image from '{path}' (missing file or unsupported format)")
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def write_image(path: str | Path, rgb: np.ndarray) -> None:
    """Write an HxWx3 uint8 RGB array (format from the file extension)."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write an image to '{path}' (check the folder exists and the extension is .png/.jpg)")
