"""Network frames to IMAGE and to 8-bit RGB: values, dtypes, sizes, and the caller's tensor left untouched."""

from __future__ import annotations

import pytest
import torch

from styleheat_core.pipeline.image_format import network_to_image, network_to_uint8


def _frames(dtype: torch.dtype) -> torch.Tensor:
    """Network output with values past both ends of [-1, 1], channels_last as the CPU generator returns it."""
    frames = 1.5 * torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    return frames.to(dtype).contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_network_to_image_maps_to_unit_range_and_leaves_the_frames_untouched(dtype):
    frames = _frames(dtype)
    before = frames.clone()
    image = network_to_image(frames)
    assert torch.equal(frames, before)
    assert image.shape == (2, 16, 16, 3) and image.dtype == torch.float32
    expected = (frames.float().clamp(-1, 1) + 1) / 2
    assert torch.equal(image, expected.permute(0, 2, 3, 1))
    assert image.amin() == 0.0 and image.amax() == 1.0


def test_network_to_image_area_resizes():
    frames = _frames(torch.float32)
    image = network_to_image(frames, 8)
    assert image.shape == (2, 8, 8, 3)
    expected = (frames.clamp(-1, 1).unfold(2, 2, 2).unfold(3, 2, 2).mean((-1, -2)) + 1) / 2
    torch.testing.assert_close(image, expected.permute(0, 2, 3, 1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_network_to_uint8_rounds_to_the_nearest_level_and_leaves_the_frames_untouched(dtype):
    frames = _frames(dtype)
    before = frames.clone()
    rgb = network_to_uint8(frames)
    assert torch.equal(frames, before)
    assert rgb.dtype == torch.uint8 and rgb.shape == (2, 16, 16, 3)
    expected = ((frames.float().clamp(-1, 1) + 1) / 2 * 255).round().to(torch.uint8)
    assert torch.equal(rgb, expected.permute(0, 2, 3, 1))
    assert rgb.min() == 0 and rgb.max() == 255
