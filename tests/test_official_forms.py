"""Our fast module forwards equal the official forms (tests/support/official_ops.py) within 1e-5.

Every class whose forward our fast path rewrites is run both ways on the same module with random
weights (biases included, so that folded biases show); then whole small networks, the way the
per-frame path runs them (channels_last, shared style row) against the official way (NCHW,
per-sample styles, native upfirdn2d). The official `upfirdn2d_native` itself is checked against the
direct float64 definition of test_ops.py.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from styleheat_core.models import ir_blocks, ops, pirender, resnet
from styleheat_core.models.calibrator import CalibrationNet, ConvUpLayer, ResUpBlock
from styleheat_core.models.discriminator import Discriminator
from styleheat_core.models.e4e import Encoder4Editing, GradualStyleBlock
from styleheat_core.models.modulation import FeatureModulation
from styleheat_core.models.stylegan2 import Generator, ModulatedConv2d, StyledConv, ToRGB
from tests.support.official_ops import OFFICIAL_FORWARDS, official_ops, upfirdn2d_native
from tests.test_ops import _reference_upfirdn2d

# fp32 rounding of differently ordered sums (oneDNN blocks them by ISA and batch): up to 1.2e-5 measured on an
# AVX2 CPU, under 1e-5 on an AVX-512 one; a wrong formula differs by 1e-3 or more.
ATOL = 3e-5
CHANNELS_LAST = torch.channels_last


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randomised(module: nn.Module, seed: int) -> nn.Module:
    """Random biases and batch-norm statistics (the constructors make them 0 or 1, which would hide a folding mistake)."""
    gen = _seeded(seed)
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=gen))
                m.running_mean.copy_(0.3 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
    return module.eval()


def _both_ways(module: nn.Module, *args) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        fast = module(*args)
        with official_ops():
            official = module(*[a.contiguous() if isinstance(a, torch.Tensor) else a for a in args])
    return fast, official


@pytest.mark.parametrize(("up", "down", "pad"), [(2, 1, (2, 1)), (1, 1, (1, 1)), (1, 2, (1, 1)), (1, 2, (-1, 2))])
def test_official_upfirdn2d_native_matches_the_direct_definition(up, down, pad):
    x = torch.randn(2, 3, 7, 9, generator=_seeded(0))
    kernel = torch.rand(4, 4, generator=_seeded(1))
    expected = _reference_upfirdn2d(x, kernel, up, down, pad)
    torch.testing.assert_close(upfirdn2d_native(x, kernel, up=up, down=down, pad=pad), expected.float(), atol=1e-5, rtol=0)


def _module_cases():
    """(name, module, inputs) for each class in OFFICIAL_FORWARDS, inputs channels_last as the fast path runs them."""
    x = torch.randn(3, 8, 10, 10, generator=_seeded(2)).contiguous(memory_format=CHANNELS_LAST)
    style = torch.randn(3, 16, generator=_seeded(3))  # one row per sample, as official; shared rows are tested below
    skip = torch.randn(3, 3, 5, 5, generator=_seeded(4))
    descriptor = torch.randn(3, 16, 1, generator=_seeded(12))
    act = nn.LeakyReLU(0.1)
    return [
        ("modulated conv", ModulatedConv2d(8, 6, 3, 16), (x, style)),
        ("modulated conv, upsample", ModulatedConv2d(8, 6, 3, 16, upsample=True), (x, style)),
        ("modulated conv, 1x1 no demodulation", ModulatedConv2d(8, 3, 1, 16, demodulate=False), (x, style)),
        ("styled conv", StyledConv(8, 6, 3, 16), (x, style)),
        ("styled conv, upsample", StyledConv(8, 6, 3, 16, upsample=True), (x, style)),
        ("to rgb with skip", ToRGB(8, 16), (x, style, skip)),
        ("equal conv", ops.EqualConv2d(8, 6, 3, padding=1), (x,)),
        ("conv layer", ops.ConvLayer(8, 6, 3), (x,)),
        ("conv layer, downsample", ops.ConvLayer(8, 6, 3, downsample=True), (x,)),
        ("conv layer, no bias", ops.ConvLayer(8, 6, 1, bias=False), (x,)),
        ("conv layer, skip", ops.ConvLayer(8, 6, 1, downsample=True, activate=False, bias=False), (x,)),
        ("res block", ops.ResBlock(8, 6), (x[..., :8, :8],)),
        ("scaled leaky relu", ops.ScaledLeakyReLU(), (x,)),
        ("blur", ops.Blur((1, 3, 3, 1), pad=(1, 1), upsample_factor=2), (x,)),
        ("upsample", ops.Upsample(), (x,)),
        ("adain", pirender.ADAIN(8, 16), (x, descriptor)),
        ("adain encoder", pirender.ADAINEncoder(8, 16, 4, 8, 2, act), (x[..., :8, :8], descriptor)),
        ("adain encoder block", pirender.ADAINEncoderBlock(8, 6, 16, act), (x, descriptor)),
        ("adain decoder block", pirender.ADAINDecoderBlock(8, 6, 5, 16, act), (x, descriptor)),
        ("fine adain res block", pirender.FineADAINResBlock2d(8, 16), (x, descriptor)),
        ("conv up layer", ConvUpLayer(8, 6, 3, padding=1), (x,)),
        ("conv up layer, no bias", ConvUpLayer(8, 6, 3, padding=1, bias=False), (x,)),
        ("conv up layer, skip", ConvUpLayer(8, 6, 1, bias=False, activate=False), (x,)),
        ("res up block", ResUpBlock(8, 6), (x,)),
        ("conv act conv", ops.ConvActConv(8, 12, 6), (x,)),
        ("ir stem", ir_blocks.Stem(8, 6), (x,)),
        ("ir bottleneck, max-pool shortcut", ir_blocks.BottleneckIR(8, 8, 2), (x,)),
        ("ir-se bottleneck, conv shortcut", ir_blocks.BottleneckIR(8, 16, 2, squeeze_excite=True), (x,)),
        ("gradual style block", GradualStyleBlock(8, 6, 8), (x[..., :8, :8],)),
        ("resnet bottleneck", resnet.Bottleneck(8, 4, 2), (x,)),
        ("resnet bottleneck, identity", resnet.Bottleneck(16, 4), (torch.cat([x, x], 1),)),
    ]


def test_every_rewritten_class_has_a_case():
    covered = {type(module) for _, module, _ in _module_cases()} | {Encoder4Editing, resnet.ResNet50Backbone}  # whole networks below
    assert set(OFFICIAL_FORWARDS) <= covered


@pytest.mark.parametrize("index", range(len(_module_cases())), ids=[name for name, _, _ in _module_cases()])
def test_fast_forward_equals_the_official_form(index):
    _, module, args = _module_cases()[index]
    fast, official = _both_ways(_randomised(module, index), *args)
    for f, o in zip(fast, official, strict=True) if isinstance(fast, list) else [(fast, official)]:
        assert f.shape == o.shape
        torch.testing.assert_close(f, o, atol=ATOL * max(1.0, o.abs().max().item()), rtol=0)


@pytest.mark.parametrize("batch", [1, 3])
def test_adain_keeps_channels_last_and_falls_back_to_nchw_for_autograd(batch):
    adain = _randomised(pirender.ADAIN(8, 16), 30)
    x = torch.randn(batch, 8, 10, 10, generator=_seeded(31))
    descriptor = torch.randn(batch, 16, 1, generator=_seeded(32))
    with torch.no_grad():
        nchw = adain(x, descriptor, 0.1)
        channels_last = adain(x.contiguous(memory_format=CHANNELS_LAST), descriptor, 0.1)
    assert channels_last.is_contiguous(memory_format=CHANNELS_LAST) and not channels_last.is_contiguous()
    torch.testing.assert_close(channels_last, nchw, atol=ATOL, rtol=0)
    leaf = x.contiguous(memory_format=CHANNELS_LAST).requires_grad_()
    recorded = adain(leaf, descriptor, 0.1)
    recorded.square().sum().backward()
    assert leaf.grad is not None and leaf.grad.abs().sum() > 0
    torch.testing.assert_close(recorded.detach(), nchw, atol=ATOL, rtol=0)


def test_a_shared_style_row_equals_official_per_sample_styles():
    conv = _randomised(StyledConv(8, 6, 3, 16, upsample=True), 20)
    x = torch.randn(3, 8, 9, 9, generator=_seeded(5))
    style = torch.randn(1, 16, generator=_seeded(6))
    with torch.no_grad():
        fast = conv(x.contiguous(memory_format=CHANNELS_LAST), style)
        with official_ops():
            official = conv(x, style.expand(3, -1))
    torch.testing.assert_close(fast, official, atol=ATOL * official.abs().max().item(), rtol=0)


@torch.no_grad()
def test_small_generator_fast_path_equals_the_official_way():
    torch.manual_seed(0)
    g = Generator(64, style_dim=32, n_mlp=2, channel_multiplier=1).eval()
    w = torch.randn(1, g.n_latent, g.style_dim, generator=_seeded(7))
    feature = torch.randn(3, g.channels[64], 64, 64, generator=_seeded(8))
    fast = g(w, f_condition=feature).image
    g.memory_format = torch.contiguous_format
    try:
        with official_ops():
            official = torch.cat([g(w, f_condition=feature[i : i + 1]).image for i in range(3)])
    finally:
        g.memory_format = None
    torch.testing.assert_close(fast, official, atol=ATOL, rtol=0)


@torch.no_grad()
def test_quarter_size_rendering_equals_the_official_render_and_resize():
    """Generator(output_size=size/4) skips the last convolution's unread pixels yet equals official rendering + F.interpolate."""
    torch.manual_seed(1)
    g = _randomised(Generator(128, style_dim=32, n_mlp=2, channel_multiplier=1), 70).eval()
    w = torch.randn(2, g.n_latent, g.style_dim, generator=_seeded(18)) * 2  # two frames, one style row each
    fast = {clamp: g(w, output_size=32, clamp=clamp).image for clamp in (False, True)}
    g.high_resolution_frames = 2  # both frames at once: the per-sample weights
    per_sample = g(w, output_size=32, clamp=True).image
    g.high_resolution_frames = None
    g.memory_format = torch.contiguous_format
    try:
        with official_ops():
            official = {clamp: g(w, output_size=32, clamp=clamp).image for clamp in (False, True)}
    finally:
        g.memory_format = None
    tolerance = ATOL * max(1.0, official[False].abs().max().item())  # clamping cannot widen a difference
    assert official[False].abs().max() > 1.0 and official[True].abs().max() == 1.0
    for clamp in (False, True):
        assert fast[clamp].shape == official[clamp].shape == (2, 3, 32, 32)
        torch.testing.assert_close(fast[clamp], official[clamp], atol=tolerance, rtol=0)
    torch.testing.assert_close(per_sample, official[True], atol=tolerance, rtol=0)


@torch.no_grad()
def test_renderings_sharing_the_layers_below_the_feature_equal_full_official_renderings():
    """The inversion's two renderings of one code share `below_feature`; each equals a full official rendering,
    the conditioned one included, and the shared layers are not changed by the first rendering."""
    torch.manual_seed(2)
    g = _randomised(Generator(128, style_dim=32, n_mlp=2, channel_multiplier=1), 72).eval()
    w = torch.randn(1, g.n_latent, g.style_dim, generator=_seeded(19))
    channels = g.channels[64]
    condition = FeatureModulation(0.3 * torch.randn(1, channels, 64, 64, generator=_seeded(20)), 0.3 * torch.randn(1, channels, 64, 64, generator=_seeded(21)))
    below = g.below_feature(w)
    kept = below.feature.clone()
    shared = [g(w, output_size=32, clamp=True, below=below), g(w, inversion_condition=condition, output_size=32, clamp=True, below=below)]
    assert torch.equal(below.feature, kept)
    poisoned = below._replace(feature=torch.zeros_like(below.feature), skip=torch.zeros_like(below.skip))
    g.memory_format = torch.contiguous_format
    try:
        with official_ops():  # the official way renders every layer each time, whatever `below` it is handed
            official = [g(w, output_size=32, clamp=True, below=poisoned), g(w, inversion_condition=condition, output_size=32, clamp=True, below=poisoned)]
    finally:
        g.memory_format = None
    assert not torch.allclose(official[0].image, official[1].image, atol=1e-3)
    for fast, reference in zip(shared, official, strict=True):
        torch.testing.assert_close(fast.image, reference.image, atol=ATOL, rtol=0)
        torch.testing.assert_close(fast.f_latent, reference.f_latent, atol=ATOL * reference.f_latent.abs().max().item(), rtol=0)


@torch.no_grad()
def test_calibrator_and_discriminator_equal_the_official_way():
    calibrator = _randomised(CalibrationNet(64, 512, 512, 2, 1), 30)  # real widths, on a 16x16 feature
    feature = torch.randn(2, 512, 16, 16, generator=_seeded(9))
    descriptor = torch.randn(2, 256, 1, generator=_seeded(10))
    fast, official = _both_ways(calibrator, feature, descriptor)
    for f, o in zip(fast, official, strict=True):
        torch.testing.assert_close(f, o, atol=ATOL * max(1.0, o.abs().max().item()), rtol=0)
    disc = _randomised(Discriminator(32, channel_multiplier=1), 31)
    images = torch.randn(4, 3, 32, 32, generator=_seeded(11))
    fast, official = _both_ways(disc, images)
    torch.testing.assert_close(fast, official, atol=ATOL, rtol=0)


@pytest.mark.parametrize("upsample", [False, True])
def test_grouped_convolution_equals_one_convolution_per_sample(upsample):
    """The grouped path (used off the CPU) against the per-sample path the CPU takes."""
    conv = _randomised(ModulatedConv2d(8, 6, 3, 16, upsample=upsample), 40)
    x = torch.randn(3, 8, 10, 10, generator=_seeded(13))
    weight = conv.modulated_weight(torch.randn(3, 16, generator=_seeded(14)), 1.5)
    bias = torch.randn(6, generator=_seeded(15))
    with torch.no_grad():
        grouped = conv._grouped(x, weight, bias, 0.2)
        per_sample = torch.cat([conv._convolve(x[i : i + 1], weight[i], bias, 0.2) for i in range(3)])
    torch.testing.assert_close(grouped, per_sample, atol=ATOL, rtol=0)


@torch.no_grad()
def test_e4e_and_resnet50_equal_the_official_way():
    encoder = _randomised(Encoder4Editing(50, "ir_se", 64), 50)  # 64: 6 styles, every FPN level, small heads
    x = torch.randn(2, 3, 64, 64, generator=_seeded(16))  # two sources: each sample's own products
    fast, official = _both_ways(encoder, x)
    torch.testing.assert_close(fast, official, atol=ATOL * max(1.0, official.abs().max().item()), rtol=0)
    backbone = _randomised(resnet.ResNet50Backbone(), 51)
    fast, official = _both_ways(backbone, torch.rand(2, 3, 64, 64, generator=_seeded(17)))
    torch.testing.assert_close(fast, official, atol=ATOL * max(1.0, official.abs().max().item()), rtol=0)


@torch.no_grad()
def test_resnet_bottleneck_overwrites_its_input_only_when_told():
    block = _randomised(resnet.Bottleneck(16, 4), 53)
    x = torch.randn(2, 16, 8, 8, generator=_seeded(18)).contiguous(memory_format=CHANNELS_LAST)
    kept = x.clone()
    out = block(x)
    assert torch.equal(x, kept) and out.data_ptr() != x.data_ptr()
    consumed = block(x, consume_input=True)
    assert consumed.data_ptr() == x.data_ptr()  # the sum went into the shortcut's buffer, no new 56x56-sized output
    torch.testing.assert_close(consumed, out, atol=0, rtol=0)


def test_e4e_records_gradients_through_its_style_heads():
    """With autograd recording, the style heads run block by block (the in-place products cannot be differentiated)."""
    encoder = _randomised(Encoder4Editing(50, "ir_se", 64), 52)
    x = torch.randn(1, 3, 64, 64, generator=_seeded(19), requires_grad=True)
    with torch.no_grad():
        inference = encoder(x)
    codes = encoder(x)
    codes.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.testing.assert_close(codes.detach(), inference, atol=ATOL * max(1.0, inference.abs().max().item()), rtol=0)
