"""Gaussian smoothing along time with the sequence ends clamped (no shrink towards zero at the edges)."""

from __future__ import annotations

import math

import numpy as np


def kernel_radius(sigma: float) -> int:
    """Frames on each side that a Gaussian of `sigma` frames reads (0 when sigma is 0)."""
    if sigma < 0 or not math.isfinite(sigma):
        raise ValueError(f"smoothing strength must be a finite number >= 0 (Gaussian sigma in frames); got {sigma}")
    return int(math.ceil(3.0 * sigma))


def smooth_sequence(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smooth an (N, ...) array along axis 0; frames past the ends repeat the end frame."""
    radius = kernel_radius(sigma)
    values = np.asarray(values, dtype=np.float64)
    if radius == 0 or len(values) < 2:
        return values.copy()
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights /= weights.sum()
    index = np.clip(np.arange(len(values))[:, None] + offsets[None, :], 0, len(values) - 1)
    return np.tensordot(weights, values[index], axes=([0], [1]))
