"""StyleGAN2 building blocks in plain PyTorch (no compiled CUDA ops).

Parameter and buffer names follow the rosinality layout so official state dicts load unchanged.
`upfirdn2d` computes what the official CUDA kernel computes (zero-insertion upsampling, padding,
convolution with the flipped kernel, subsampling) as one depthwise convolution per call: upsampling
is a strided transposed convolution (no zero-inserted copy), symmetric padding happens inside the
convolution (no padded copy). Both keep the input's memory format (channels_last is much faster on CPU).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from . import winograd

SQRT2 = math.sqrt(2.0)
BLUR_KERNEL = (1, 3, 3, 1)


def make_kernel(k: Sequence[float]) -> torch.Tensor:
    """Separable 1-D taps -> normalised 2-D kernel (the official `make_kernel`)."""
    kernel = torch.tensor(k, dtype=torch.float32)
    if kernel.ndim == 1:
        kernel = kernel[None, :] * kernel[:, None]
    return kernel / kernel.sum()


def cpu_layout(x: torch.Tensor) -> torch.Tensor:
    """x stored channels_last on the CPU, where oneDNN's convolutions need no reorder for it; unchanged elsewhere."""
    return x.contiguous(memory_format=torch.channels_last) if x.device.type == "cpu" else x


@functools.cache
def cpu_computes_natively(dtype: torch.dtype) -> bool:
    """Whether this CPU has the instructions oneDNN needs to compute in `dtype` (bf16: avx512_bf16, AMX or
    avx_ne_convert; fp16: avx512_fp16, AMX-FP16 or avx_ne_convert). Without them reduced precision is
    emulated: slower than fp32, and oneDNN's own reduced-precision convolution raises."""
    if dtype == torch.bfloat16:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if dtype == torch.float16:
        return bool(torch.ops.mkldnn._is_mkldnn_fp16_supported())
    return True


def _fused_cpu_inference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    """True where oneDNN's fused convolution applies: CPU, fp32 (or bf16 where `cpu_computes_natively`:
    otherwise oneDNN's bf16 convolution raises, and F.conv2d emulates it), and no gradient to record."""
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return (
        x.device.type == "cpu"
        and (x.dtype == torch.float32 or (x.dtype == torch.bfloat16 and cpu_computes_natively(x.dtype)))
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
        and not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))
    )


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    groups: int = 1,
    negative_slope: float | None = None,
) -> torch.Tensor:
    """F.conv2d, then leaky_relu(negative_slope) if given, computed the fastest way for the device.

    CPU inference: wide 3x3 convolutions by Winograd F(4x4, 3x3) or F(2x2, 3x3) (models/winograd.py), the others by
    oneDNN with the activation fused into the convolution (no second pass over the output). With
    gradients, or on other devices: F.conv2d and an in-place leaky ReLU.
    """
    padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
    if _fused_cpu_inference(x, weight, bias):
        if winograd.applies(x, weight, stride, padding, groups):
            return winograd.conv3x3(x, weight, bias, negative_slope)
        attr, scalars = ("leaky_relu", [negative_slope]) if negative_slope is not None else ("none", [])
        return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, list(padding), [stride] * 2, [1, 1], groups, attr, scalars, "")
    out = F.conv2d(x, weight, bias, stride=stride, padding=padding, groups=groups)
    return out if negative_slope is None else F.leaky_relu_(out, negative_slope)


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize to size² without antialiasing (align_corners=False), as every official resize."""
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


# A bilinear resize to a quarter of the size reads rows and columns 4i+1 and 4i+2 only, half and half.
QUARTER_OFFSETS = (1, 2)


def quarter_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, negative_slope: float | None = None) -> torch.Tensor:
    """conv2d(x, weight (out, in, 3, 3), bias, padding=1) [then leaky_relu], only at the rows and columns
    4i+1 and 4i+2 that a 4x bilinear downsizing reads: (B, 4*out, H/4, W/4), the four (row, column)
    offsets in QUARTER_OFFSETS order, one block of `out` channels each.

    All four come from one stride-4 convolution over x (no padding needed: their 3x3 windows lie in
    rows and columns 4i..4i+3), each 3x3 kernel placed in a zero 4x4 kernel: a quarter of the outputs
    at 16/9 of the taps each, 0.44x the multiplications of the whole convolution.
    """
    kernels = torch.cat([F.pad(weight, (col - 1, 2 - col, row - 1, 2 - row)) for row in QUARTER_OFFSETS for col in QUARTER_OFFSETS])
    return conv2d(x, kernels, None if bias is None else bias.repeat(len(QUARTER_OFFSETS) ** 2), stride=4, negative_slope=negative_slope)


# Transposed-conv taps that land on even (2, 0) / odd (1) output rows, in input-row order: slices of the flipped kernel.
_PHASE_TAPS = (slice(0, 3, 2), slice(1, 2))


# fp32 input sides at which the phases beat oneDNN's fp32 transposed convolution (measured, 2 CPU cores).
FP32_SUBPIXEL_SIDES = range(128, 257)


def subpixel_applies(x: torch.Tensor) -> bool:
    """Whether a stride-2 3x3 transposed convolution of x is faster as four phase convolutions.

    oneDNN has no AMX kernel for bf16/fp16 transposed convolutions on the CPU, but runs the phase
    convolutions on AMX. With the blur's padding written by the pixel shuffle (no crop afterwards), the
    up-convolution and its blur take 0.3-0.5x the time up to 128² inputs, 0.8x at 256² and 0.9x at 512²
    (measured, 2 CPU cores). In fp32 the phases win at 128² and 256² inputs: 0.5-0.7x on an AVX2 CPU,
    0.9-1.0x on an AVX-512 one; at 64² and 512² the two run alike (benchmarks/RESULTS.md).
    """
    if x.device.type != "cpu":
        return False
    if x.dtype in (torch.bfloat16, torch.float16):
        return True
    return x.dtype == torch.float32 and x.shape[-2] in FP32_SUBPIXEL_SIDES and x.shape[-1] in FP32_SUBPIXEL_SIDES


def subpixel_conv_transpose2d(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """conv_transpose2d(x, weight (in, out, 3, 3), stride=2), zero-padded by one row and column on every side:
    (B, out, 2H+3, 2W+3), channels_last. That is the padded input of the blur that follows an up-convolution,
    so the blur runs unpadded and its result is the layer's output as it is, with no crop and no copy.

    Output row 2p gets taps 0 and 2 (inputs p and p-1), row 2p+1 tap 1 (input p): four small
    convolutions over x, one per (row, column) parity, interleaved by a pixel shuffle into the buffer.
    """
    batch, _, height, width = x.shape
    out_channels = weight.shape[1]
    kernel = weight.transpose(0, 1).flip(2, 3)  # slices of one flipped copy (advanced indexing is slow in bf16)
    padded = x.new_empty(batch, 2 * height + 3, 2 * width + 3, out_channels)
    # Past the first row and column, rows and columns pair up by parity: (2p+1, 2p+2) hold outputs 2p and 2p+1.
    phases = padded[:, 1:, 1:].unflatten(1, (height + 1, 2)).unflatten(3, (width + 1, 2))
    for border in (padded[:, 0], padded[:, :, 0], phases[:, height, 1], phases[:, :, :, width, 1]):
        border.zero_()
    for a, rows in enumerate(_PHASE_TAPS):
        for b, cols in enumerate(_PHASE_TAPS):
            phase = conv2d(x, kernel[:, :, rows, cols].contiguous(), padding=(1 - a, 1 - b))
            phases[:, : height + 1 - a, a, : width + 1 - b, b] = phase.permute(0, 2, 3, 1)
    return padded.permute(0, 3, 1, 2)


def _folded(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The weight and bias of one convolution that computes bn(conv(x)) in eval mode:
    w * g / sqrt(v + eps) and (b - m) * g / sqrt(v + eps) + beta."""
    factor = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    shift = -bn.running_mean if conv.bias is None else conv.bias - bn.running_mean
    return conv.weight * factor.view(-1, 1, 1, 1), shift * factor + bn.bias


def conv_bn(x: torch.Tensor, conv: nn.Conv2d, bn: nn.BatchNorm2d, negative_slope: float | None = None) -> torch.Tensor:
    """bn(conv(x)), then leaky_relu(negative_slope) if given (0 for ReLU).

    In eval mode the batch norm is folded into the convolution's weight and bias (one convolution,
    activation fused).
    """
    if bn.training:
        out = bn(conv(x))
        return out if negative_slope is None else F.leaky_relu_(out, negative_slope)
    weight, bias = _folded(conv, bn)
    return conv2d(x, weight, bias, conv.stride[0], conv.padding[0], conv.groups, negative_slope)


def conv_bn_add_relu(x: torch.Tensor, conv: nn.Conv2d, bn: nn.BatchNorm2d, residual: torch.Tensor, into_residual: bool = False) -> torch.Tensor:
    """relu(bn(conv(x)) + residual), a residual block's last step.

    CPU inference in eval mode: one oneDNN convolution with the batch norm folded in and the sum and ReLU
    fused (no separate passes over the output). With `into_residual` the result is written into
    `residual`'s storage instead of a new buffer: at batch 20, ResNet-50's 56x56 outputs are 64 MB each,
    and every fresh one costs its page faults.
    """
    if bn.training or not _fused_cpu_inference(x, conv.weight, residual):
        return conv_bn(x, conv, bn).add_(residual).relu_()
    weight, bias = _folded(conv, bn)
    args = (weight, bias, list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups, "add", 1.0, "relu", [], "")
    if into_residual:
        return torch.ops.mkldnn._convolution_pointwise_.binary(residual, x, *args)
    return torch.ops.mkldnn._convolution_pointwise.binary(x, residual, *args)


def upfirdn2d(
    x: torch.Tensor,
    kernel: torch.Tensor,
    up: int = 1,
    down: int = 1,
    pad: tuple[int, int] = (0, 0),
    bias: torch.Tensor | None = None,
    negative_slope: float | None = None,
) -> torch.Tensor:
    """Upsample by zero insertion, pad (negative pads crop), FIR-filter, then subsample, per channel.

    `bias` (one value per channel) and then leaky_relu(`negative_slope`), if given, are applied to
    the result (inside the depthwise convolution where it allows).
    """
    if up > 1 and x.device.type == "cpu" and x.dtype in (torch.bfloat16, torch.float16):
        # oneDNN has no fast reduced-precision depthwise transposed convolution: fp32 is 3-4x faster (2 cores, channels_last)
        out = upfirdn2d(x.float(), kernel, up, down, pad, None if bias is None else bias.float(), negative_slope)
        return out.to(x.dtype)
    channels = x.shape[1]
    pad0, pad1 = pad
    if up > 1:
        # Transposed conv = zero insertion + full convolution with the unflipped kernel; then crop/pad
        # its (H-1)*up + k rows to the rows [k-1-pad0, H*up + pad1) that the definition keeps.
        weight = kernel.to(x.dtype).expand(channels, 1, *kernel.shape)
        before, after = pad0 + 1 - kernel.shape[0], up + pad1 - kernel.shape[0]
        if before == after <= 0:
            out = F.conv_transpose2d(x, weight, bias, stride=up, padding=-before, groups=channels)
        else:
            out = F.pad(F.conv_transpose2d(x, weight, stride=up, groups=channels), [before, after, before, after])
            out = out if bias is None else out.add_(bias.view(1, -1, 1, 1))
        out = out[:, :, ::down, ::down] if down > 1 else out
        return out if negative_slope is None else F.leaky_relu_(out, negative_slope)
    weight = torch.flip(kernel, [0, 1]).to(x.dtype).expand(channels, 1, *kernel.shape)
    if pad0 != pad1 or pad0 < 0:
        x, pad0 = F.pad(x, [pad0, pad1, pad0, pad1]), 0
    return conv2d(x, weight, bias, stride=down, padding=pad0, groups=channels, negative_slope=negative_slope)


def fused_leaky_relu(
    x: torch.Tensor, bias: torch.Tensor, negative_slope: float = 0.2, scale: float = SQRT2, inplace: bool = False
) -> torch.Tensor:
    """leaky_relu(x + bias) * sqrt(2) (as leaky_relu((x + bias) * sqrt(2))), bias broadcast over the channel axis 1.

    Computed in one tensor: a new one, or `x` itself with `inplace` (for a fresh layer output that
    nothing else reads). Autograd allows both: only the activation's own result is saved, and it is last.
    """
    shape = (1, bias.shape[0]) + (1,) * (x.ndim - 2)
    out = x.add_(bias.view(shape)) if inplace else x + bias.view(shape)
    return F.leaky_relu_(out.mul_(scale), negative_slope)


class FusedLeakyReLU(nn.Module):
    """Bias + leaky ReLU(0.2) + gain sqrt(2); the bias parameter is named `bias`. `inplace` overwrites the input."""

    negative_slope = 0.2

    def __init__(self, channels: int, inplace: bool = False):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias, inplace=self.inplace)


class ScaledLeakyReLU(nn.Module):
    """Leaky ReLU with gain sqrt(2) and no parameters."""

    def __init__(self, negative_slope: float = 0.2):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, self.negative_slope).mul_(SQRT2)


class Upsample(nn.Module):
    """2x FIR upsampling (the RGB skip path)."""

    def __init__(self, kernel: Sequence[float] = BLUR_KERNEL, factor: int = 2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(kernel) * factor**2)
        p = self.kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class Blur(nn.Module):
    """FIR blur with the official padding; the kernel is stored as buffer `kernel`."""

    def __init__(self, kernel: Sequence[float], pad: tuple[int, int], upsample_factor: int = 1):
        super().__init__()
        self.register_buffer("kernel", make_kernel(kernel) * upsample_factor**2)
        self.pad = pad

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None, negative_slope: float | None = None) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad, bias=bias, negative_slope=negative_slope)

    def padded(self, x: torch.Tensor, bias: torch.Tensor | None = None, negative_slope: float | None = None) -> torch.Tensor:
        """`forward` of an input that already carries the zero padding (one row and column on each side)."""
        if self.pad != (1, 1):
            raise ValueError(f"a pre-padded input needs the blur's padding to be (1, 1); it is {self.pad}")
        return upfirdn2d(x, self.kernel, bias=bias, negative_slope=negative_slope)


class EqualConv2d(nn.Module):
    """Conv2d with the weight scaled by 1/sqrt(fan_in) at run time.

    `forward(x, gain, bias, negative_slope)` computes gain * conv(x) + bias in the convolution itself
    (`gain` also scales the layer's own bias; `bias` is an extra per-channel bias, e.g. a following
    activation's), then leaky_relu(negative_slope) if given.
    """

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channel, in_channel, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channel * kernel_size**2)
        self.stride = stride
        self.padding = padding
        self.bias = nn.Parameter(torch.zeros(out_channel)) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0, bias: torch.Tensor | None = None, negative_slope: float | None = None) -> torch.Tensor:
        if self.bias is not None:
            bias = self.bias * gain if bias is None else self.bias * gain + bias
        return conv2d(x, self.weight * (self.scale * gain), bias, self.stride, self.padding, negative_slope=negative_slope)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate; `activation` selects the fused leaky ReLU."""

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, bias_init: float = 0.0, lr_mul: float = 1.0, activation: str | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init))) if bias else None
        self.activation = activation
        self.scale = (1 / math.sqrt(in_dim)) * lr_mul
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        bias = self.bias * self.lr_mul if self.bias is not None else None
        return F.linear(x, self.weight * self.scale, bias=bias)


class ConvActConv(nn.Sequential):
    """EqualConv2d 3x3 -> ScaledLeakyReLU -> EqualConv2d 3x3 (keys 0.*, 2.*), the SFT/condition head of HFGI and
    the calibrator; the activation's sqrt(2) and leaky ReLU are fused into the first convolution."""

    def __init__(self, in_channel: int, hidden: int, out_channel: int):
        super().__init__(EqualConv2d(in_channel, hidden, 3, padding=1), ScaledLeakyReLU(0.2), EqualConv2d(hidden, out_channel, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, activation, second = self
        return second(first(x, SQRT2, negative_slope=activation.negative_slope))


class ConvLayer(nn.Sequential):
    """[Blur] + EqualConv2d + [FusedLeakyReLU | ScaledLeakyReLU], as rosinality's ConvLayer (same children and keys).

    Computed as one convolution with the activation's bias and gain folded into it, then an in-place
    leaky ReLU: leaky_relu(x + b) * sqrt(2) = leaky_relu(sqrt(2) x + sqrt(2) b), since sqrt(2) > 0.
    """

    def __init__(
        self,
        in_channel: int,
        out_channel: int,
        kernel_size: int,
        downsample: bool = False,
        blur_kernel: Sequence[float] = BLUR_KERNEL,
        bias: bool = True,
        activate: bool = True,
    ):
        layers: list[nn.Module] = []
        if downsample:
            factor = 2
            p = (len(blur_kernel) - factor) + (kernel_size - 1)
            layers.append(Blur(blur_kernel, pad=((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(EqualConv2d(in_channel, out_channel, kernel_size, padding=padding, stride=stride, bias=bias and not activate))
        if activate:
            layers.append(FusedLeakyReLU(out_channel, inplace=True) if bias else ScaledLeakyReLU(0.2))
        super().__init__(*layers)
        self.downsample = downsample
        self.activate = activate

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """The layer's output times `gain` (> 0), which costs nothing: it is folded into the convolution."""
        if self.downsample:
            x = self[0](x)
        if not self.activate:
            return self[-1](x, gain)
        conv, activation = self[-2], self[-1]
        bias = activation.bias * (SQRT2 * gain) if isinstance(activation, FusedLeakyReLU) else None
        return conv(x, SQRT2 * gain, bias, activation.negative_slope)


def add_residual(out: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """out + skip, written into `out` unless autograd needs `out` as it is (an in-place activation saved it)."""
    return out + skip if out.requires_grad else out.add_(skip)


class ResBlock(nn.Module):
    """Residual downsampling block: (conv1 -> conv2(down) + skip(down)) / sqrt(2), the 1/sqrt(2) folded into both convolutions."""

    def __init__(self, in_channel: int, out_channel: int, blur_kernel: Sequence[float] = BLUR_KERNEL):
        super().__init__()
        self.conv1 = ConvLayer(in_channel, in_channel, 3)
        self.conv2 = ConvLayer(in_channel, out_channel, 3, downsample=True, blur_kernel=blur_kernel)
        self.skip = ConvLayer(in_channel, out_channel, 1, downsample=True, activate=False, bias=False, blur_kernel=blur_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return add_residual(self.conv2(self.conv1(x), 1 / SQRT2), self.skip(x, 1 / SQRT2))
