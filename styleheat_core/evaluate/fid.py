"""FID (Heusel et al. 2017) with pytorch-fid's features: pool3 (2048-d) of the TensorFlow FID Inception on
RGB in [0, 1] resized bilinearly to 299x299.

The distance is the published one, ||mu1 - mu2||² + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^½) with unbiased
covariances, computed in float64. Tr((S1 S2)^½) is the sum of the square roots of the eigenvalues of
S1 S2, which equal the squared singular values of A Bᵀ / sqrt((n-1)(m-1)) (A, B: the centred features),
or the eigenvalues of S1^½ S2 S1^½ when there are more frames than dimensions. Both are exact and
need no 2048x2048 matrix square root (pytorch-fid's scipy sqrtm takes ~30 s on 2 cores).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MIN_FRAMES = 2


@torch.no_grad()
def inception_features(model: nn.Module, frames: torch.Tensor) -> np.ndarray:
    """(B,H,W,3) uint8 -> (B, 2048) float64 pool3 features."""
    device = next(model.parameters()).device
    return model((frames.permute(0, 3, 1, 2).float() / 255.0).to(device)).double().cpu().numpy()


def check_fid_frames(pred: int, ref: int) -> None:
    """FID needs a covariance on each side."""
    if min(pred, ref) < MIN_FRAMES:
        raise ValueError(
            f"FID needs at least {MIN_FRAMES} frames on each side; got {pred} generated and {ref} real. "
            "FID only means something over thousands of frames (the paper pools every test clip)."
        )


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(a: np.ndarray, b: np.ndarray) -> float:
    """Tr((S1 S2)^½) for the covariances of centred (n, d) and (m, d) features."""
    n, m, d = len(a), len(b), a.shape[1]
    if n * m * min(n, m) <= d**3:
        return float(np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt((n - 1) * (m - 1)))
    root = _psd_sqrt(a.T @ a / (n - 1))
    middle = root @ (b.T @ b / (m - 1)) @ root
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum())


def fid(pred_features: np.ndarray, ref_features: np.ndarray) -> float:
    """FID between generated (n, d) and real (m, d) features."""
    check_fid_frames(len(pred_features), len(ref_features))
    pred, ref = np.asarray(pred_features, dtype=np.float64), np.asarray(ref_features, dtype=np.float64)
    a, b = pred - pred.mean(axis=0), ref - ref.mean(axis=0)
    diff = pred.mean(axis=0) - ref.mean(axis=0)
    traces = (a * a).sum() / (len(a) - 1) + (b * b).sum() / (len(b) - 1)
    return float(diff @ diff + traces - 2.0 * trace_sqrt_product(a, b))
