"""PSNR and SSIM of 8-bit RGB frames, in float64.

Settings: RGB, data range 255 (the 0..255 values of the uint8 frames). PSNR pools the squared error
over all pixels and channels of a frame. SSIM (Wang et al. 2004) uses an 11x11 Gaussian window,
sigma 1.5, K1 0.01, K2 0.03, population (co)variances, per channel, averaged over the channels and
the positions where the window fits inside the frame; this is scikit-image's
`structural_similarity(a, b, channel_axis=-1, data_range=255, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DATA_RANGE = 255.0
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_RADIUS = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
K1, K2 = 0.01, 0.03


def _as_float64(frames: torch.Tensor) -> torch.Tensor:
    """(B,H,W,3) uint8 -> (B,3,H,W) float64 in 0..255."""
    return frames.permute(0, 3, 1, 2).to(torch.float64)


def psnr(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """(B,H,W,3) uint8 pairs -> (B,) PSNR in dB (inf for identical frames)."""
    mse = (_as_float64(pred) - _as_float64(ref)).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(DATA_RANGE**2 / mse)


def _gaussian_window(device: torch.device) -> torch.Tensor:
    offsets = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=torch.float64, device=device)
    weights = torch.exp(-0.5 * (offsets / SSIM_SIGMA) ** 2)
    return weights / weights.sum()


def _filter(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian, valid positions only, per channel."""
    channels = x.shape[1]
    x = F.conv2d(x, window.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(x, window.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


def ssim(pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """(B,H,W,3) uint8 pairs -> (B,) mean SSIM."""
    size = 2 * SSIM_RADIUS + 1
    if min(pred.shape[1:3]) < size:
        raise ValueError(f"SSIM needs frames of at least {size}x{size} pixels; got {pred.shape[2]}x{pred.shape[1]}")
    x, y = _as_float64(pred), _as_float64(ref)
    window = _gaussian_window(x.device)
    mu_x, mu_y = _filter(x, window), _filter(y, window)
    var_x = _filter(x * x, window) - mu_x * mu_x
    var_y = _filter(y * y, window) - mu_y * mu_y
    cov = _filter(x * y, window) - mu_x * mu_y
    c1, c2 = (K1 * DATA_RANGE) ** 2, (K2 * DATA_RANGE) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return index.mean(dim=(1, 2, 3))

