"""Network frames to IMAGE and to 8-bit RGB: values, dtypes, sizes, and the caller's tensor left untouched."""

from __future__ import annotations

import pytest
import torch

from styleheat_core.pipeline.image_format import network_to_image, network_to_uint8


def _frames(dtype: torch.dtype) -> torch.Tensor:
    """Network output with values past both ends of [-1, 1], channels_last as the CPU generator returns it."""
    frames = 1.5 * torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    return frames.to(dtype).contiguous(memory_format=torch.channels_last)


def test_network_to_image_area_resizes():
    frames = _frames(torch.float32)
    image = network_to_image(frames, 8)
    assert image.shape == (2, 8, 8, 3)
    expected = (frames.clamp(-1, 1).unfold(2, 2, 2).unfold(3, 2, 2).mean((-1, -2)) + 1) / 2
    torch.testing.assert_close(image, expected.permute(0, 2, 3, 1), atol=1e-6, rtol=0)


def _unit(frames: torch.Tensor) -> torch.Tensor:
    return (frames.float().clamp(-1, 1) + 1) / 2


# conversion, its expected (B,3,H,W) values, its top level
CONVERSIONS = {
    "image": (network_to_image, _unit, 1.0),
    "uint8": (network_to_uint8, lambda frames: (_unit(frames) * 255).round().to(torch.uint8), 255),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("conversion", list(CONVERSIONS))
def test_conversions_clamp_and_map_values_and_leave_the_frames_untouched(conversion, dtype):
    convert, expected, top = CONVERSIONS[conversion]
    frames = _frames(dtype)
    before = frames.clone()
    out = convert(frames)
    assert torch.equal(frames, before)
    want = expected(frames).permute(0, 2, 3, 1)
    assert out.shape == (2, 16, 16, 3) and out.dtype == want.dtype
    assert torch.equal(out, want)
    assert out.min() == 0 and out.max() == top
