"""The official StyleHEAT forms of the ops our fast path rewrites, for tests and the reference benchmark.

The official code runs rosinality's StyleGAN2 with two compiled CUDA ops; on the CPU their plain-PyTorch
reference forms are `upfirdn2d_native` (zero insertion, padding, FIR filter, subsampling, as one
single-channel convolution over a (B*C, 1, H, W) view) and `fused_leaky_relu`'s CPU fallback
(leaky_relu(x + bias) * sqrt(2), out of place). The module forwards below are the official ones
(OpenTalker/StyleHEAT 9cb0c7c, models/stylegan2/model.py and models/styleheat/*.py), written for
our module trees (same parameters). Modules whose forward we never rewrote (nn.Conv2d, VideoWarper,
CalibrationNet, Generator, ...) already compute the official way. `official_ops()` swaps them in for a block of code, so the very
same modules compute exactly what the official code computes, the way it computes it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from styleheat_core.models import calibrator, e4e, ir_blocks, ops, pirender, resnet, stylegan2

SQRT2 = math.sqrt(2.0)


def upfirdn2d_native(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """rosinality's `upfirdn2d` on the CPU (`upfirdn2d_native` with its wrapper's reshapes)."""
    pad_x0, pad_x1 = pad
    pad_y0, pad_y1 = pad
    _, channel, in_h, in_w = x.shape
    x = x.reshape(-1, in_h, in_w, 1)
    _, in_h, in_w, minor = x.shape
    kernel_h, kernel_w = kernel.shape
    out = x.view(-1, in_h, 1, in_w, 1, minor)
    out = F.pad(out, [0, 0, 0, up - 1, 0, 0, 0, up - 1])
    out = out.view(-1, in_h * up, in_w * up, minor)
    out = F.pad(out, [0, 0, max(pad_x0, 0), max(pad_x1, 0), max(pad_y0, 0), max(pad_y1, 0)])
    out = out[:, max(-pad_y0, 0) : out.shape[1] - max(-pad_y1, 0), max(-pad_x0, 0) : out.shape[2] - max(-pad_x1, 0), :]
    out = out.permute(0, 3, 1, 2)
    out = out.reshape([-1, 1, in_h * up + pad_y0 + pad_y1, in_w * up + pad_x0 + pad_x1])
    w = torch.flip(kernel, [0, 1]).view(1, 1, kernel_h, kernel_w)
    out = F.conv2d(out, w)
    out = out.reshape(-1, minor, in_h * up + pad_y0 + pad_y1 - kernel_h + 1, in_w * up + pad_x0 + pad_x1 - kernel_w + 1)
    out = out.permute(0, 2, 3, 1)
    out = out[:, ::down, ::down, :]
    out_h = (in_h * up + pad_y0 + pad_y1 - kernel_h) // down + 1
    out_w = (in_w * up + pad_x0 + pad_x1 - kernel_w) // down + 1
    return out.view(-1, channel, out_h, out_w)


def fused_leaky_relu_native(
    x: torch.Tensor, bias: torch.Tensor, negative_slope: float = 0.2, scale: float = SQRT2, inplace: bool = False
) -> torch.Tensor:
    """rosinality's `fused_leaky_relu` on the CPU: leaky_relu(x + bias) * scale, a new tensor (`inplace` ignored)."""
    rest_dim = [1] * (x.ndim - bias.ndim - 1)
    return F.leaky_relu(x + bias.view(1, bias.shape[0], *rest_dim), negative_slope=negative_slope) * scale


def blur(self: ops.Blur, x: torch.Tensor) -> torch.Tensor:
    """Official Blur.forward."""
    return ops.upfirdn2d(x, self.kernel, pad=self.pad)


def upsample(self: ops.Upsample, x: torch.Tensor) -> torch.Tensor:
    """Official Upsample.forward."""
    return ops.upfirdn2d(x, self.kernel, up=self.factor, down=1, pad=self.pad)


def modulated_conv2d(self: stylegan2.ModulatedConv2d, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Official ModulatedConv2d.forward: per-sample modulated weights, one grouped convolution, blur after upsampling."""
    batch, in_channel, height, width = x.shape
    style = self.modulation(style).view(batch, 1, in_channel, 1, 1)
    weight = self.scale * self.weight * style
    if self.demodulate:
        demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8)
        weight = weight * demod.view(batch, self.out_channel, 1, 1, 1)
    weight = weight.view(batch * self.out_channel, in_channel, self.kernel_size, self.kernel_size)
    if self.upsample:
        x = x.view(1, batch * in_channel, height, width)
        weight = weight.view(batch, self.out_channel, in_channel, self.kernel_size, self.kernel_size)
        weight = weight.transpose(1, 2).reshape(batch * in_channel, self.out_channel, self.kernel_size, self.kernel_size)
        out = F.conv_transpose2d(x, weight, padding=0, stride=2, groups=batch)
        _, _, height, width = out.shape
        return self.blur(out.view(batch, self.out_channel, height, width))
    x = x.view(1, batch * in_channel, height, width)
    out = F.conv2d(x, weight, padding=self.padding, groups=batch)
    _, _, height, width = out.shape
    return out.view(batch, self.out_channel, height, width)


def styled_conv(self: stylegan2.StyledConv, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Official StyledConv.forward: conv, (disabled) noise, FusedLeakyReLU."""
    return self.activate(self.noise(self.conv(x, style)))


def to_rgb(self: stylegan2.ToRGB, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
    """Official ToRGB.forward."""
    out = self.conv(x, style)
    out = out + self.bias
    if skip is not None:
        out = out + self.upsample(skip)
    return out


def prepare_per_call(self: stylegan2.StyledConv | stylegan2.ToRGB, style: torch.Tensor) -> Callable[..., torch.Tensor]:
    """Official layers modulate their weight on every call: `prepare` binds the style to the (official) forward."""
    return lambda x, *skip: self(x, style, *skip)


def generator_quarter_stage(
    self: stylegan2.Generator, stage: int, out: torch.Tensor, skip: torch.Tensor, codes: torch.Tensor, clamp: bool
) -> torch.Tensor:
    """The official last stage and resize: every pixel rendered, [clamped,] then `F.interpolate` to a quarter."""
    _, image = self._stage(stage, codes)(out, skip)
    image = image.clamp(-1.0, 1.0) if clamp else image
    return F.interpolate(image, size=(image.shape[-2] // 4, image.shape[-1] // 4), mode="bilinear", align_corners=False)


_GENERATOR_FORWARD = stylegan2.Generator.forward


def generator_forward(self: stylegan2.Generator, w_plus: torch.Tensor, *, below: stylegan2.BelowFeature | None = None, **conditions) -> stylegan2.SynthesisOutput:
    """The official generator runs every layer on every call: layers shared between renderings (`below`) are recomputed."""
    return _GENERATOR_FORWARD(self, w_plus, **conditions)


def equal_conv2d(self: ops.EqualConv2d, x: torch.Tensor) -> torch.Tensor:
    """Official EqualConv2d.forward."""
    return F.conv2d(x, self.weight * self.scale, bias=self.bias, stride=self.stride, padding=self.padding)


def conv_layer(self: ops.ConvLayer, x: torch.Tensor) -> torch.Tensor:
    """Official ConvLayer.forward: the nn.Sequential of [Blur], EqualConv2d, [activation]."""
    for module in self:
        x = module(x)
    return x


def res_block(self: ops.ResBlock, x: torch.Tensor) -> torch.Tensor:
    """Official ResBlock.forward."""
    out = self.conv2(self.conv1(x))
    return (out + self.skip(x)) / math.sqrt(2)


def scaled_leaky_relu(self: ops.ScaledLeakyReLU, x: torch.Tensor) -> torch.Tensor:
    """Official ScaledLeakyReLU.forward."""
    return F.leaky_relu(x, negative_slope=self.negative_slope) * math.sqrt(2)


def adain(self: pirender.ADAIN, x: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
    """Official ADAIN.forward (models/styleheat/base_function.py)."""
    normalized = self.param_free_norm(x)
    feature = feature.view(feature.size(0), -1)
    actv = self.mlp_shared(feature)
    gamma = self.mlp_gamma(actv).view(feature.size(0), -1, 1, 1)
    beta = self.mlp_beta(actv).view(feature.size(0), -1, 1, 1)
    return normalized * (1 + gamma) + beta


def adain_encoder(self: pirender.ADAINEncoder, x: torch.Tensor, z: torch.Tensor) -> list[torch.Tensor]:
    """Official ADAINEncoder.forward."""
    out = self.input_layer(x)
    out_list = [out]
    for i in range(self.layers):
        out = getattr(self, f"encoder{i}")(out, z)
        out_list.append(out)
    return out_list


def adain_encoder_block(self: pirender.ADAINEncoderBlock, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Official ADAINEncoderBlock.forward."""
    x = self.conv_0(self.actvn(self.norm_0(x, z)))
    return self.conv_1(self.actvn(self.norm_1(x, z)))


def adain_decoder_block(self: pirender.ADAINDecoderBlock, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Official ADAINDecoderBlock.forward (with its `shortcut`)."""
    x_s = self.conv_s(self.actvn(self.norm_s(x, z)))
    dx = self.conv_0(self.actvn(self.norm_0(x, z)))
    dx = self.conv_1(self.actvn(self.norm_1(dx, z)))
    return x_s + dx


def fine_adain_res_block(self: pirender.FineADAINResBlock2d, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Official FineADAINResBlock2d.forward."""
    x = self.actvn(self.norm1(self.conv1(x), z))
    dx = self.norm2(self.conv2(x), z)
    return dx + x


def conv_up_layer(self: calibrator.ConvUpLayer, x: torch.Tensor) -> torch.Tensor:
    """Official ConvUpLayer.forward (models/styleheat/calibration_net.py)."""
    out = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    out = F.conv2d(out, self.weight * self.scale, bias=self.bias, stride=1, padding=self.padding)
    return self.activation(out) if self.activation is not None else out


def res_up_block(self: calibrator.ResUpBlock, x: torch.Tensor) -> torch.Tensor:
    """Official ResUpBlock.forward."""
    out = self.conv2(self.conv1(x))
    return (out + self.skip(x)) / math.sqrt(2)


def sequential(self: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """nn.Sequential.forward: the official form of our Sequential subclasses with a fused forward."""
    for module in self:
        x = module(x)
    return x


def bottleneck_ir(self: ir_blocks.BottleneckIR, x: torch.Tensor) -> torch.Tensor:
    """Official bottleneck_IR(_SE).forward (models/e4e/helpers.py)."""
    shortcut = self.shortcut_layer(x)
    res = self.res_layer(x)
    return res + shortcut


def gradual_style_block(self: e4e.GradualStyleBlock, x: torch.Tensor) -> torch.Tensor:
    """Official GradualStyleBlock.forward."""
    x = self.convs(x)
    x = x.view(-1, self.out_c)
    return self.linear(x)


def encoder4editing(self: e4e.Encoder4Editing, x: torch.Tensor) -> torch.Tensor:
    """Official Encoder4Editing.forward (progressive stage: inference, every style)."""
    x = self.input_layer(x)
    for i, layer in enumerate(self.body):
        x = layer(x)
        if i == 6:
            c1 = x
        elif i == 20:
            c2 = x
        elif i == 23:
            c3 = x
    w0 = self.styles[0](c3)
    w = w0.repeat(self.style_count, 1, 1).permute(1, 0, 2)
    features = c3
    for i in range(1, self.style_count):
        if i == e4e.COARSE_STYLES:
            p2 = F.interpolate(c3, size=c2.shape[-2:], mode="bilinear", align_corners=False) + self.latlayer1(c2)
            features = p2
        elif i == e4e.MIDDLE_STYLES:
            features = F.interpolate(p2, size=c1.shape[-2:], mode="bilinear", align_corners=False) + self.latlayer2(c1)
        w[:, i] += self.styles[i](features)
    return w


def resnet_bottleneck(self: resnet.Bottleneck, x: torch.Tensor) -> torch.Tensor:
    """torchvision's Bottleneck.forward."""
    identity = x
    out = F.relu(self.bn1(self.conv1(x)))
    out = F.relu(self.bn2(self.conv2(out)))
    out = self.bn3(self.conv3(out))
    if self.downsample is not None:
        identity = self.downsample(x)
    return F.relu(out + identity)


def resnet50_backbone(self: resnet.ResNet50Backbone, x: torch.Tensor) -> torch.Tensor:
    """torchvision's ResNet._forward_impl up to the average pool."""
    x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
    x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
    return self.avgpool(x)


# Class -> its official forward, for every module whose forward our fast path rewrites.
OFFICIAL_FORWARDS: dict[type[nn.Module], Callable[..., torch.Tensor]] = {
    ops.Blur: blur,
    ops.Upsample: upsample,
    stylegan2.ModulatedConv2d: modulated_conv2d,
    stylegan2.StyledConv: styled_conv,
    stylegan2.ToRGB: to_rgb,
    ops.EqualConv2d: equal_conv2d,
    ops.ConvLayer: conv_layer,
    ops.ResBlock: res_block,
    ops.ScaledLeakyReLU: scaled_leaky_relu,
    pirender.ADAIN: adain,
    pirender.ADAINEncoder: adain_encoder,
    pirender.ADAINEncoderBlock: adain_encoder_block,
    pirender.ADAINDecoderBlock: adain_decoder_block,
    pirender.FineADAINResBlock2d: fine_adain_res_block,
    calibrator.ConvUpLayer: conv_up_layer,
    calibrator.ResUpBlock: res_up_block,
    ops.ConvActConv: sequential,
    ir_blocks.Stem: sequential,
    ir_blocks.BottleneckIR: bottleneck_ir,
    e4e.GradualStyleBlock: gradual_style_block,
    e4e.Encoder4Editing: encoder4editing,
    resnet.Bottleneck: resnet_bottleneck,
    resnet.ResNet50Backbone: resnet50_backbone,
}
# Other methods our fast path rewrites -> their official forms.
OFFICIAL_METHODS: dict[tuple[type[nn.Module], str], Callable[..., torch.Tensor]] = {
    **{(cls, "forward"): forward for cls, forward in OFFICIAL_FORWARDS.items()},
    (stylegan2.StyledConv, "prepare"): prepare_per_call,
    (stylegan2.ToRGB, "prepare"): prepare_per_call,
    (stylegan2.Generator, "_quarter_stage"): generator_quarter_stage,
    (stylegan2.Generator, "forward"): generator_forward,
}
# Module-level functions of `ops` -> their official CPU forms.
OFFICIAL_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "upfirdn2d": upfirdn2d_native,
    "fused_leaky_relu": fused_leaky_relu_native,
}


@contextlib.contextmanager
def official_ops() -> Iterator[None]:
    """Within the block, every listed module method and every `ops` function computes the official way."""
    saved_methods = {(cls, name): getattr(cls, name) for cls, name in OFFICIAL_METHODS}
    saved_functions = {name: getattr(ops, name) for name in OFFICIAL_FUNCTIONS}
    try:
        for (cls, name), method in OFFICIAL_METHODS.items():
            setattr(cls, name, method)
        for name, function in OFFICIAL_FUNCTIONS.items():
            setattr(ops, name, function)
        yield
    finally:
        for (cls, name), method in saved_methods.items():
            setattr(cls, name, method)
        for name, function in saved_functions.items():
            setattr(ops, name, function)
