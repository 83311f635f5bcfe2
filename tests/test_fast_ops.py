"""The fast formulations of the StyleGAN2 ops equal the generic ones (within 1e-5).

upfirdn2d (strided transposed conv, padding inside the conv) against the zero-insertion + pad +
depthwise-conv formulation it replaced; the in-place fused activation; a style row shared by the
batch against per-sample grouped convolutions; channels_last against NCHW activations.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from styleheat_core.models.ops import fused_leaky_relu, make_kernel, subpixel_applies, subpixel_conv_transpose2d, upfirdn2d
from styleheat_core.models.stylegan2 import Generator, ModulatedConv2d

ATOL = 1e-5
# Whole generator passes batched differently: the rounding of every Winograd F(4x4, 3x3) layer, in different orders.
GENERATOR_ATOL = 2e-5


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _generic_upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int, down: int, pad: tuple[int, int]) -> torch.Tensor:
    """The previous formulation: zero-inserted copy, padded copy, depthwise conv with the flipped kernel."""
    batch, channels, height, width = x.shape
    if up > 1:
        x = F.pad(x.reshape(batch, channels, height, 1, width, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(
            batch, channels, height * up, width * up
        )
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    return F.conv2d(x, torch.flip(kernel, [0, 1]).expand(channels, 1, *kernel.shape), stride=down, groups=channels)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    ("up", "down", "pad", "gain"),
    [
        (2, 1, (2, 1), 4),  # ToRGB skip Upsample
        (1, 1, (1, 1), 4),  # blur after the transposed conv of an upsampling ModulatedConv2d
        (1, 1, (2, 2), 1),  # blur before a stride-2 ConvLayer (3x3)
        (1, 1, (1, 1), 1),  # blur before a stride-2 ConvLayer (1x1 skip)
        (1, 2, (1, 2), 1),
        (1, 2, (-1, 2), 1),
        (2, 1, (1, 2), 4),
        (2, 2, (3, 0), 4),
        (3, 1, (0, 0), 9),
    ],
)
def test_upfirdn2d_equals_the_generic_formulation(up, down, pad, gain, channels_last):
    x = torch.randn(2, 8, 17, 13, generator=_seeded(0))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    kernel = make_kernel([1, 3, 3, 1]) * gain
    out = upfirdn2d(x, kernel, up=up, down=down, pad=pad)
    expected = _generic_upfirdn2d(x.contiguous(), kernel, up, down, pad)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)


def test_upfirdn2d_keeps_channels_last_on_the_stylegan_paths():
    x = torch.randn(1, 4, 8, 8).contiguous(memory_format=torch.channels_last)
    kernel = make_kernel([1, 3, 3, 1]) * 4
    assert upfirdn2d(x, kernel, pad=(1, 1)).is_contiguous(memory_format=torch.channels_last)
    assert upfirdn2d(x, kernel, up=2, pad=(2, 1)).is_contiguous(memory_format=torch.channels_last)


def test_fused_leaky_relu_in_place_equals_the_definition_with_gradients():
    x = torch.randn(2, 6, 5, 5, generator=_seeded(1))
    bias = torch.randn(6, generator=_seeded(2))
    expected = F.leaky_relu(x + bias.view(1, -1, 1, 1), 0.2) * 2**0.5
    torch.testing.assert_close(fused_leaky_relu(x, bias), expected, atol=1e-6, rtol=0)
    grads = []
    for inplace in (False, True):
        leaf = x.clone().requires_grad_(True)
        b = bias.clone().requires_grad_(True)
        out = fused_leaky_relu(leaf * 1.0, b, inplace=inplace)  # `leaf * 1.0`: a fresh tensor, as a conv output is
        torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)
        out.pow(2).sum().backward()
        grads.append((leaf.grad, b.grad))
    torch.testing.assert_close(grads[0], grads[1], atol=0, rtol=0)


@torch.no_grad()
@pytest.mark.parametrize(("kernel_size", "upsample", "demodulate"), [(3, False, True), (3, True, True), (1, False, False)])
def test_a_shared_style_row_equals_per_sample_grouped_convolutions(kernel_size, upsample, demodulate):
    torch.manual_seed(0)
    conv = ModulatedConv2d(16, 8, kernel_size, 32, demodulate=demodulate, upsample=upsample).eval()
    x = torch.randn(3, 16, 9, 9, generator=_seeded(3))
    style = torch.randn(1, 32, generator=_seeded(4))
    shared = conv(x, style)
    grouped = conv(x, style.expand(3, -1))
    per_sample = torch.cat([conv(x[i : i + 1], style) for i in range(3)])
    torch.testing.assert_close(shared, grouped, atol=ATOL, rtol=0)
    torch.testing.assert_close(shared, per_sample, atol=ATOL, rtol=0)


def test_modulated_conv_rejects_a_style_batch_that_does_not_broadcast():
    conv = ModulatedConv2d(4, 4, 3, 8)
    with pytest.raises(ValueError, match="one row or one per sample"):
        conv(torch.zeros(3, 4, 5, 5), torch.zeros(2, 8))


@pytest.fixture(scope="module")
def small_generator() -> Generator:
    torch.manual_seed(0)
    return Generator(64, style_dim=32, n_mlp=1, channel_multiplier=1).eval()


@torch.no_grad()
def test_generator_shared_code_and_layouts_equal_the_per_sample_nchw_path(small_generator):
    g = small_generator
    w = torch.randn(1, g.n_latent, g.style_dim, generator=_seeded(5))
    feature = torch.randn(3, g.channels[64], 64, 64, generator=_seeded(6))
    shared = g(w, f_condition=feature).image
    per_sample = g(w.expand(3, -1, -1), f_condition=feature).image
    g.memory_format = torch.contiguous_format
    try:
        nchw = g(w.expand(3, -1, -1), f_condition=feature).image
    finally:
        g.memory_format = None
    assert shared.shape == (3, 3, 64, 64)
    torch.testing.assert_close(shared, per_sample, atol=GENERATOR_ATOL, rtol=0)
    torch.testing.assert_close(shared, nchw, atol=GENERATOR_ATOL, rtol=0)


@pytest.mark.parametrize(("height", "width"), [(5, 7), (8, 8), (1, 3)])
def test_subpixel_transposed_convolution_equals_the_strided_one(height, width):
    x = torch.randn(2, 6, height, width, generator=_seeded(7)).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(6, 4, 3, 3, generator=_seeded(8))
    expected = F.pad(F.conv_transpose2d(x, weight, stride=2), [1, 1, 1, 1])
    out = subpixel_conv_transpose2d(x, weight)
    assert out.shape == expected.shape and out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)


@torch.no_grad()
def test_bf16_upsampling_conv_through_phases_equals_fp32_within_bf16_rounding():
    torch.manual_seed(1)
    conv = ModulatedConv2d(16, 8, 3, 32, upsample=True).eval()
    x = torch.randn(2, 16, 12, 12, generator=_seeded(9)).contiguous(memory_format=torch.channels_last)
    style = torch.randn(1, 32, generator=_seeded(10))
    expected = conv(x, style, 1.5, torch.ones(8), 0.2)
    assert subpixel_applies(x.bfloat16()) and not subpixel_applies(x)
    assert subpixel_applies(torch.empty(1, 4, 128, 256)) and not subpixel_applies(torch.empty(1, 4, 512, 512))
    out = conv.to(torch.bfloat16)(x.bfloat16(), style.bfloat16(), 1.5, torch.ones(8, dtype=torch.bfloat16), 0.2)
    assert out.shape == expected.shape
    torch.testing.assert_close(out.float(), expected, atol=0.05 * expected.abs().max().item(), rtol=0)


def test_fp32_phases_equal_the_transposed_convolution_in_value_and_gradient(monkeypatch):
    """fp32 up-convolutions of 128²-256² inputs run as phases on the CPU, in training too: same output and gradients."""
    torch.manual_seed(2)
    conv = ModulatedConv2d(8, 4, 3, 16, upsample=True)
    x = torch.randn(2, 8, 128, 128, generator=_seeded(11)).requires_grad_()
    style = torch.randn(2, 16, generator=_seeded(12))
    assert subpixel_applies(x)

    def run() -> list[torch.Tensor]:
        conv.zero_grad()
        x.grad = None
        out = conv(x, style, 1.5, torch.ones(4), 0.2)
        (out * torch.linspace(0, 1, out.numel()).view_as(out)).sum().backward()
        return [out.detach(), x.grad.clone(), conv.weight.grad.clone(), conv.modulation.weight.grad.clone()]

    phases = run()
    monkeypatch.setattr("styleheat_core.models.stylegan2.subpixel_applies", lambda t: False)
    transposed = run()
    assert not torch.equal(phases[0], transposed[0])  # the two ways ran (they round differently)
    for got, expected in zip(phases, transposed, strict=True):
        assert ((got - expected).norm() / expected.norm()).item() < 1e-5
