"""PSNR and SSIM against scikit-image on frames made here."""

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from styleheat_core.evaluate.psnr_ssim import psnr, ssim


def _pair(seed: int, shape: tuple[int, ...], noise: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(np.cumsum(rng.normal(size=shape), axis=1), axis=2)
    ref = np.clip((smooth - smooth.min()) / np.ptp(smooth) * 255, 0, 255).astype(np.uint8)
    pred = np.clip(ref.astype(int) + rng.integers(-noise, noise + 1, size=shape), 0, 255).astype(np.uint8)
    return pred, ref


@pytest.mark.parametrize("shape,noise", [((3, 64, 64, 3), 20), ((2, 37, 90, 3), 60), ((1, 11, 11, 3), 5)])
def test_psnr_and_ssim_match_scikit_image(shape, noise):
    pred, ref = _pair(sum(shape) + noise, shape, noise)
    ours_psnr = psnr(torch.from_numpy(pred), torch.from_numpy(ref)).numpy()
    ours_ssim = ssim(torch.from_numpy(pred), torch.from_numpy(ref)).numpy()
    expected_psnr = [peak_signal_noise_ratio(r, p, data_range=255) for p, r in zip(pred, ref)]
    expected_ssim = [
        structural_similarity(p, r, channel_axis=-1, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        for p, r in zip(pred, ref)
    ]
    np.testing.assert_allclose(ours_psnr, expected_psnr, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours_ssim, expected_ssim, rtol=0, atol=1e-10)
    assert 0.0 < ours_ssim.min() < 0.999 and np.isfinite(ours_psnr).all()


def test_identical_frames_give_infinite_psnr_and_unit_ssim():
    _, ref = _pair(1, (2, 32, 32, 3), 0)
    frames = torch.from_numpy(ref)
    assert torch.isinf(psnr(frames, frames)).all()
    torch.testing.assert_close(ssim(frames, frames), torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-12)


def test_ssim_refuses_frames_smaller_than_its_window():
    tiny = torch.zeros((1, 10, 40, 3), dtype=torch.uint8)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(tiny, tiny)
