"""FID (Heusel et al. 2017) with pytorch-fid's settings: pool3 features (2048-d) of the TensorFlow FID
Inception on RGB in [0, 1] resized bilinearly to 299x299; the Fréchet distance between the Gaussians
(mean, unbiased covariance) of the generated and the real features, matrix square root by scipy.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg
from torch import nn

MIN_FRAMES = 2
SQRTM_EPS = 1e-6


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


def gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of (N, D) features."""
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½), regularised by eps·I when the product is singular."""
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * SQRTM_EPS
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: the covariance square root has an imaginary part of {np.abs(covmean.imag).max():.3g}; use more frames")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid(pred_features: np.ndarray, ref_features: np.ndarray) -> float:
    """FID between generated and real pool3 features (N, 2048)."""
    check_fid_frames(len(pred_features), len(ref_features))
    return frechet_distance(*gaussian(pred_features), *gaussian(ref_features))
