"""Small operations: upfirdn2d against a direct reference, the discriminator's forward, W+ offsets, 3DMM windows.

The discriminator's key/shape layout against stylegan2_d_256.pth.json is checked in test_checkpoints.py.
"""

from __future__ import annotations

import pytest
import torch

from styleheat_core.models.discriminator import Discriminator
from styleheat_core.models.e4e import add_latent_avg
from styleheat_core.models.ops import upfirdn2d
from styleheat_core.preprocess.semantics import expression_only, window_indices


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _reference_upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int, down: int, pad: tuple[int, int]) -> torch.Tensor:
    """Direct float64 definition: zero-insert, pad (negative crops), correlate with the flipped kernel, keep every down-th sample."""
    batch, channels, height, width = x.shape
    upsampled = torch.zeros(batch, channels, height * up, width * up, dtype=torch.float64)
    upsampled[:, :, ::up, ::up] = x.double()
    pad0, pad1 = pad
    padded = torch.zeros(batch, channels, height * up + pad0 + pad1, width * up + pad0 + pad1, dtype=torch.float64)
    for i in range(padded.shape[2]):
        for j in range(padded.shape[3]):
            if 0 <= i - pad0 < height * up and 0 <= j - pad0 < width * up:
                padded[:, :, i, j] = upsampled[:, :, i - pad0, j - pad0]
    flipped = torch.flip(kernel.double(), [0, 1])
    kh, kw = flipped.shape
    out = torch.empty(batch, channels, padded.shape[2] - kh + 1, padded.shape[3] - kw + 1, dtype=torch.float64)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = (padded[:, :, i : i + kh, j : j + kw] * flipped).sum((-2, -1))
    return out[:, :, ::down, ::down]


@pytest.mark.parametrize(
    ("up", "down", "pad"),
    [(2, 1, (2, 1)), (2, 1, (1, 2)), (1, 2, (1, 1)), (1, 2, (2, 0)), (1, 2, (-1, 2))],
)
def test_upfirdn2d_matches_direct_definition(up, down, pad):
    x = torch.randn(2, 3, 7, 9, generator=_seeded(0))
    kernel = torch.rand(4, 4, generator=_seeded(1))  # asymmetric: a missing flip or swapped axis shows
    expected = _reference_upfirdn2d(x, kernel, up, down, pad)
    out = upfirdn2d(x, kernel, up=up, down=down, pad=pad)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected.float(), atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def discriminator() -> Discriminator:
    torch.manual_seed(0)
    return Discriminator(256, channel_multiplier=2).eval()


@torch.no_grad()
def test_discriminator_scores_each_image(discriminator):
    images = torch.randn(2, 3, 256, 256, generator=_seeded(2))
    scores = discriminator(images)
    assert scores.shape == (2, 1) and torch.isfinite(scores).all()
    assert not torch.allclose(scores[0], scores[1])


@torch.no_grad()
def test_discriminator_rejects_a_batch_not_divisible_by_its_stddev_group():
    small = Discriminator(64, channel_multiplier=1)
    with pytest.raises(ValueError, match="multiple of 4.*got 6"):
        small(torch.zeros(6, 3, 64, 64))


@torch.no_grad()
def test_discriminator_names_the_expected_image_size():
    with pytest.raises(ValueError, match=r"\(B, 3, 64, 64\).*resize to 64"):
        Discriminator(64, channel_multiplier=1)(torch.zeros(2, 3, 128, 128))


@pytest.mark.parametrize("avg_shape", [(18, 512), (1, 512), (512,)])
def test_add_latent_avg_broadcasts_each_official_shape(avg_shape):
    codes = torch.randn(2, 18, 512, generator=_seeded(3))
    latent_avg = torch.randn(avg_shape, generator=_seeded(4))
    w_plus = add_latent_avg(codes, latent_avg)
    assert w_plus.shape == (2, 18, 512)
    rows = latent_avg.reshape(-1, 512).expand(18, 512)
    for b in range(2):
        torch.testing.assert_close(w_plus[b] - codes[b], rows, atol=1e-6, rtol=0)


def test_add_latent_avg_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"got \(14, 512\)"):
        add_latent_avg(torch.zeros(1, 18, 512), torch.zeros(14, 512))


def test_window_indices_clamp_at_both_ends():
    assert window_indices(15, 40) == list(range(2, 29))
    assert window_indices(0, 40) == [0] * 14 + list(range(1, 14))
    assert window_indices(39, 40) == list(range(26, 40)) + [39] * 13
    assert window_indices(0, 1) == [0] * 27
    assert window_indices(1, 3, radius=2) == [0, 0, 1, 2, 2]


def test_expression_only_takes_pose_translation_and_crop_from_the_source():
    driving = torch.randn(5, 73, generator=_seeded(5))
    source = torch.randn(1, 73, generator=_seeded(6))
    driving_before, source_before = driving.clone(), source.clone()
    result = expression_only(driving, source)
    torch.testing.assert_close(result[:, :64], driving[:, :64], atol=0, rtol=0)
    torch.testing.assert_close(result[:, 64:], source[:, 64:].expand(5, 9), atol=0, rtol=0)
    assert torch.equal(driving, driving_before) and torch.equal(source, source_before)
