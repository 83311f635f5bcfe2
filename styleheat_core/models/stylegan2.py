"""StyleGAN2 generator (rosinality layout) with StyleHEAT's hooks at the 64x64 feature.

Noise injection is disabled, as in StyleHEAT: the `noise.weight` parameters and `noises.*` buffers
exist only so that official checkpoints load strictly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .flow import warp
from .modulation import FeatureModulation
from .ops import (
    BLUR_KERNEL,
    QUARTER_OFFSETS,
    SQRT2,
    Blur,
    EqualLinear,
    FusedLeakyReLU,
    Upsample,
    conv2d,
    quarter_conv3x3,
    resize,
    subpixel_applies,
    subpixel_conv_transpose2d,
)

# Loop index (1, 3, 5, ...) of the block whose first conv outputs the 64x64 feature: blocks start at 8x8.
FEATURE_HOOK_INDEX = 7
# The synthesis stage (up-conv, conv, to-RGB) whose up-conv makes the 64x64 feature at FEATURE_HOOK_INDEX.
FEATURE_STAGE = (FEATURE_HOOK_INDEX - 1) // 2
FEATURE_RESOLUTION = 64
# Input rows beyond a band that the last stage reads: its up-convolution, blur and 3x3 convolution reach
# 2 input rows away, the RGB skip's up-sampling 1 (tests/test_render_batching.py checks both bounds).
BAND_HALO = 2
# Input rows of the last stage computed at a time on the CPU: at 1024² a band's activations are a quarter of
# the 128 MiB of a whole frame's, and the stage costs about 3 % more (the halos).
CPU_BAND_ROWS = 128


class SynthesisOutput(NamedTuple):
    """Image (B,3,size,size) and the 64x64 feature recorded at the hook (after inversion modulation)."""

    image: torch.Tensor
    f_latent: torch.Tensor | None


class BelowFeature(NamedTuple):
    """What the layers below the 64x64 feature make of a W+ code: the 64x64 up-convolution's output, before
    any of StyleHEAT's conditions, and the RGB image accumulated up to 32x32."""

    feature: torch.Tensor
    skip: torch.Tensor


class SynthesisStage(NamedTuple):
    """One synthesis stage (up-conv, conv, to-RGB) with its weights modulated for a code: (features, RGB skip) -> both, one resolution up."""

    up: Callable[[torch.Tensor], torch.Tensor]
    conv: Callable[[torch.Tensor], torch.Tensor]
    to_rgb: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

    def __call__(self, out: torch.Tensor, skip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.conv(self.up(out))
        return out, self.to_rgb(out, skip)

    def image(self, out: torch.Tensor, skip: torch.Tensor, band_rows: int | None = None) -> torch.Tensor:
        """The stage's RGB image alone (what the last stage is for), `band_rows` input rows at a time (None: at once).

        Each band is computed with BAND_HALO rows of its neighbours and cropped, so the image is the one
        computed at once, while the activations at the stage's resolution exist only for one band.
        """
        height = out.shape[-2]
        if band_rows is None or band_rows >= height:
            return self(out, skip)[1]
        image = None
        for start in range(0, height, band_rows):
            stop = min(start + band_rows, height)
            low, high = max(start - BAND_HALO, 0), min(stop + BAND_HALO, height)
            band = self(out[:, :, low:high], skip[:, :, low:high])[1][:, :, 2 * (start - low) : 2 * (stop - low)]
            if image is None:
                layout = torch.channels_last if band.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
                image = torch.empty((*band.shape[:2], 2 * height, band.shape[-1]), dtype=band.dtype, device=band.device, memory_format=layout)
            image[:, :, 2 * start : 2 * stop] = band
        return image


class PixelNorm(nn.Module):
    """Normalise each latent vector to unit root-mean-square."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x**2, dim=1, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    """Style-modulated, optionally demodulated convolution.

    `style` has one row per sample (one convolution per sample on the CPU, one grouped convolution
    over the batch elsewhere) or a single row shared by the whole batch (one modulated weight, a
    plain conv over the batch). `forward(x, style, gain, bias,
    negative_slope)` returns gain * conv(x) + bias, then leaky_relu(negative_slope) if given, all
    folded into the convolution (into the blur's depthwise convolution when upsampling). It is
    `convolve` with `modulated_weight(style, gain)`: callers that convolve many inputs with one
    style modulate the weight once.
    """

    def __init__(
        self,
        in_channel: int,
        out_channel: int,
        kernel_size: int,
        style_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
        blur_kernel: Sequence[float] = BLUR_KERNEL,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.in_channel = in_channel
        self.out_channel = out_channel
        self.upsample = upsample
        if upsample:
            factor = 2
            p = (len(blur_kernel) - factor) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + factor - 1, p // 2 + 1), upsample_factor=factor)
        self.scale = 1 / math.sqrt(in_channel * kernel_size**2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_channel, in_channel, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)
        self.demodulate = demodulate

    def modulated_weight(self, style: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """(G, out, in, k, k) weights for G style rows, demodulated (each output filter divided by its
        norm, sqrt(|w|^2 + 1e-8), as official) and times `gain`."""
        weight = self.weight * (self.modulation(style) * self.scale)[:, None, :, None, None]
        if not self.demodulate:
            return weight * gain if gain != 1.0 else weight
        norm = torch.linalg.vector_norm(weight, dim=(2, 3, 4))
        return weight * (gain * torch.rsqrt(norm.square() + 1e-8))[:, :, None, None, None]

    def forward(
        self, x: torch.Tensor, style: torch.Tensor, gain: float = 1.0, bias: torch.Tensor | None = None, negative_slope: float | None = None
    ) -> torch.Tensor:
        return self.convolve(x, self.modulated_weight(style, gain), bias, negative_slope)

    def convolve(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, negative_slope: float | None = None) -> torch.Tensor:
        """x convolved with `modulated_weight`'s (G, out, in, k, k) weights, G = 1 or x's batch: + bias, then leaky ReLU."""
        _check_rows(x, weight)
        if weight.shape[0] == 1:
            return self._convolve(x, weight[0], bias, negative_slope)
        if x.device.type == "cpu":  # one plain convolution per sample keeps channels_last (and Winograd) on the CPU
            return torch.cat([self._convolve(x[i : i + 1], weight[i], bias, negative_slope) for i in range(x.shape[0])])
        return self._grouped(x, weight, bias, negative_slope)

    def quarter(
        self, x: torch.Tensor, style: torch.Tensor, gain: float = 1.0, bias: torch.Tensor | None = None, negative_slope: float | None = None
    ) -> torch.Tensor:
        """`forward` only at the pixels a 4x bilinear downsizing reads, laid out as `ops.quarter_conv3x3` returns them."""
        if self.upsample or self.kernel_size != 3:
            raise ValueError("only a 3x3 modulated convolution without upsampling can be computed at a quarter of its pixels")
        weight = _check_rows(x, self.modulated_weight(style, gain))
        if weight.shape[0] == 1:
            return quarter_conv3x3(x, weight[0], bias, negative_slope)
        return torch.cat([quarter_conv3x3(x[i : i + 1], weight[i], bias, negative_slope) for i in range(x.shape[0])])

    def _convolve(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, negative_slope: float | None) -> torch.Tensor:
        """x convolved with one modulated (out, in, k, k) weight: + bias, then leaky ReLU, folded in."""
        if self.upsample and subpixel_applies(x):
            return self.blur.padded(subpixel_conv_transpose2d(x, weight.transpose(0, 1)), bias, negative_slope)
        if self.upsample:
            return self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2), bias, negative_slope)
        return conv2d(x, weight, bias, padding=self.padding, negative_slope=negative_slope)

    def _grouped(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, negative_slope: float | None) -> torch.Tensor:
        """One grouped convolution over the batch for per-sample weights (G, out, in, k, k)."""
        batch, in_channel, height, width = x.shape
        k = self.kernel_size
        x = x.reshape(1, batch * in_channel, height, width)
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(batch * in_channel, self.out_channel, k, k)
            out = F.conv_transpose2d(x, weight, stride=2, groups=batch)
            return self.blur(out.view(batch, self.out_channel, *out.shape[-2:]), bias, negative_slope)
        bias = None if bias is None else bias.repeat(batch)
        weight = weight.reshape(batch * self.out_channel, in_channel, k, k)
        out = conv2d(x, weight, bias, padding=self.padding, groups=batch, negative_slope=negative_slope)
        return out.view(batch, self.out_channel, *out.shape[-2:])


def _check_rows(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """`weight`, after checking that it has one row (from one style) or one per sample of x."""
    if weight.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"styles must have one row or one per sample ({x.shape[0]}); got {weight.shape[0]}")
    return weight


class NoiseInjection(nn.Module):
    """Disabled noise injection: keeps the `weight` parameter of the checkpoints, returns its input."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image


class ConstantInput(nn.Module):
    """The learned 4x4 input, repeated over the batch."""

    def __init__(self, channel: int, size: int = 4):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channel, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


class StyledConv(nn.Module):
    """Modulated conv + (disabled) noise + fused bias/leaky ReLU.

    Noise injection is the identity in StyleHEAT, so the activation follows the convolution directly:
    its bias and sqrt(2) gain are folded into the convolution, and the leaky ReLU is fused into it
    (or done in place): leaky_relu(x + b) * sqrt(2) = leaky_relu(sqrt(2) x + sqrt(2) b).
    """

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, style_dim: int, upsample: bool = False, blur_kernel=BLUR_KERNEL):
        super().__init__()
        self.conv = ModulatedConv2d(in_channel, out_channel, kernel_size, style_dim, upsample=upsample, blur_kernel=blur_kernel)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channel, inplace=True)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.prepare(style)(x)

    def prepare(self, style: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """This layer with its weight modulated by `style` once: a function of the input (for frames sharing a code)."""
        bias, slope = self.activate.bias * SQRT2, self.activate.negative_slope
        return partial(self.conv.convolve, weight=self.conv.modulated_weight(style, SQRT2), bias=bias, negative_slope=slope)

    def quarter(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """`forward` only at the pixels a 4x bilinear downsizing reads (`ModulatedConv2d.quarter`)."""
        return self.conv.quarter(x, style, SQRT2, self.activate.bias * SQRT2, self.activate.negative_slope)


class ToRGB(nn.Module):
    """1x1 modulated conv to RGB, added to the upsampled RGB skip of the previous resolution."""

    def __init__(self, in_channel: int, style_dim: int, upsample: bool = True, blur_kernel=BLUR_KERNEL):
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_channel, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        return self.prepare(style)(x, skip)

    def prepare(self, style: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]:
        """This layer with its weight modulated by `style` once: a function of the input and the RGB skip."""
        weight = self.conv.modulated_weight(style)

        def rgb(x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
            out = self.conv.convolve(x, weight, bias=self.bias.view(-1))
            return out if skip is None else out.add_(self.upsample(skip))

        return rgb

    def quarter(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor, clamp: bool) -> torch.Tensor:
        """The image downsized 4x (bilinear, as `ops.resize`) from `x`, the features at the pixels that
        downsizing reads (as `ops.quarter_conv3x3` lays them out): RGB and skip at those pixels only,
        each clamped to [-1, 1] first if `clamp`, then averaged (the resize's weights are all 1/2)."""
        upsampled = self.upsample(skip)
        offsets = [(row, col) for row in QUARTER_OFFSETS for col in QUARTER_OFFSETS]
        image = None
        for block, (row, col) in zip(x.chunk(len(offsets), dim=1), offsets):
            rgb = self.conv(block.contiguous(memory_format=torch.channels_last), style, bias=self.bias.view(-1))
            rgb = rgb.add_(upsampled[:, :, row::4, col::4])
            rgb = rgb.clamp_(-1.0, 1.0) if clamp else rgb
            image = rgb if image is None else image.add_(rgb)
        return image.mul_(1.0 / len(offsets))


def channel_widths(channel_multiplier: int) -> dict[int, int]:
    """Feature channels per resolution of the rosinality generator and discriminator."""
    return {
        4: 512,
        8: 512,
        16: 512,
        32: 512,
        64: 256 * channel_multiplier,
        128: 128 * channel_multiplier,
        256: 64 * channel_multiplier,
        512: 32 * channel_multiplier,
        1024: 16 * channel_multiplier,
    }


def feature_stage(
    feature: torch.Tensor,
    inversion_condition: FeatureModulation | None,
    f_condition: torch.Tensor | None,
    grids: Sequence[torch.Tensor],
    refinement: FeatureModulation | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleHEAT's work on the 64x64 feature, in the official order: modulate by HFGI's inversion condition,
    record it (`f_latent`), replace it by `f_condition`, warp it by each grid, modulate by the calibrator's
    `refinement`. Returns (f_latent, the feature the generator goes on with)."""
    if inversion_condition is not None:
        feature = inversion_condition.apply(feature)
    f_latent = feature
    if f_condition is not None:
        feature = f_condition
    for grid in grids:
        feature = warp(feature.expand(grid.shape[0], -1, -1, -1), grid)
    if refinement is not None:
        feature = refinement.apply(feature)
    return f_latent, feature


class Generator(nn.Module):
    """StyleGAN2 synthesis from W+ with StyleHEAT's conditions at the 64x64 layer.

    Activations run in `memory_format`; None (the default) picks by device: channels_last on CPU
    (about 2x faster oneDNN convolutions there), NCHW on CUDA (faster there for these grouped and
    depthwise convolutions, measured on an H100).

    Above the 64x64 feature, `high_resolution_frames` frames are synthesised at a time; None (the
    default) picks by device: one on CPU, where a 1024² activation is 128 MiB per frame and batching
    gains nothing at these sizes (this keeps a chunk's working set to one frame's, benchmarks/RESULTS.md),
    the whole batch on CUDA. The last stage runs `band_rows` input rows at a time (`SynthesisStage.image`);
    None picks by device: CPU_BAND_ROWS on CPU, all rows at once on CUDA.
    """

    def __init__(
        self,
        size: int = 1024,
        style_dim: int = 512,
        n_mlp: int = 8,
        channel_multiplier: int = 2,
        blur_kernel: Sequence[float] = BLUR_KERNEL,
        lr_mlp: float = 0.01,
    ):
        super().__init__()
        if size < FEATURE_RESOLUTION or size & (size - 1):
            raise ValueError(f"StyleGAN2 size must be a power of two >= {FEATURE_RESOLUTION}; got {size}")
        self.size = size
        self.style_dim = style_dim
        self.style = nn.Sequential(PixelNorm(), *(EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation="fused_lrelu") for _ in range(n_mlp)))
        self.channels = channel_widths(channel_multiplier)
        self.input = ConstantInput(self.channels[4])
        self.conv1 = StyledConv(self.channels[4], self.channels[4], 3, style_dim, blur_kernel=blur_kernel)
        self.to_rgb1 = ToRGB(self.channels[4], style_dim, upsample=False)
        self.log_size = int(math.log2(size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for layer in range(self.num_layers):
            resolution = 2 ** ((layer + 5) // 2)
            self.noises.register_buffer(f"noise_{layer}", torch.randn(1, 1, resolution, resolution))
        in_channel = self.channels[4]
        for log_res in range(3, self.log_size + 1):
            out_channel = self.channels[2**log_res]
            self.convs.append(StyledConv(in_channel, out_channel, 3, style_dim, upsample=True, blur_kernel=blur_kernel))
            self.convs.append(StyledConv(out_channel, out_channel, 3, style_dim, blur_kernel=blur_kernel))
            self.to_rgbs.append(ToRGB(out_channel, style_dim))
            in_channel = out_channel
        self.n_latent = self.log_size * 2 - 2
        self.memory_format: torch.memory_format | None = None
        self.high_resolution_frames: int | None = None
        self.band_rows: int | None = None

    def _stage(self, stage: int, codes: torch.Tensor) -> SynthesisStage:
        """Synthesis stage `stage` (up-conv, conv, to-RGB) modulated by W+ rows 1 + 2*stage on."""
        index = 1 + 2 * stage
        return SynthesisStage(
            self.convs[2 * stage].prepare(codes[:, index]),
            self.convs[2 * stage + 1].prepare(codes[:, index + 1]),
            self.to_rgbs[stage].prepare(codes[:, index + 2]),
        )

    def _layout(self, w_plus: torch.Tensor) -> torch.memory_format:
        if w_plus.dim() != 3 or w_plus.shape[1] != self.n_latent:
            raise ValueError(f"W+ codes must have shape (B, {self.n_latent}, {self.style_dim}); got {tuple(w_plus.shape)}")
        return self.memory_format or (torch.channels_last if w_plus.device.type == "cpu" else torch.contiguous_format)

    def below_feature(self, w_plus: torch.Tensor) -> BelowFeature:
        """The layers below the 64x64 feature for W+ (B, n_latent, style_dim): the same for every rendering of
        that code, whatever the conditions at the feature, so renderings of one code can share them."""
        out = self.conv1(self.input(w_plus.shape[0]).contiguous(memory_format=self._layout(w_plus)), w_plus[:, 0])
        skip = self.to_rgb1(out, w_plus[:, 1])
        for stage in range(FEATURE_STAGE):
            out, skip = self._stage(stage, w_plus)(out, skip)
        return BelowFeature(self.convs[2 * FEATURE_STAGE](out, w_plus[:, 1 + 2 * FEATURE_STAGE]), skip)

    def get_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Mapping network z -> w."""
        return self.style(z)

    def forward(
        self,
        w_plus: torch.Tensor,
        *,
        inversion_condition: FeatureModulation | None = None,
        f_condition: torch.Tensor | None = None,
        grids: Sequence[torch.Tensor] = (),
        refinement: FeatureModulation | None = None,
        output_size: int | None = None,
        clamp: bool = False,
        below: BelowFeature | None = None,
    ) -> SynthesisOutput:
        """Synthesise from W+ (B, n_latent, style_dim).

        `output_size` resizes the image to output_size² (`ops.resize`), clamped to [-1, 1] first if
        `clamp`, as the encoders and the audio warper see it. At a quarter of the generator's size,
        the last convolution and to-RGB run only at the pixels that resize reads (`ToRGB.quarter`).

        W+ may instead have batch 1 while the 64x64 conditions (`f_condition`, `grids`, `refinement`)
        have batch B: the code is then shared by the B frames, the layers below 64x64 run once, and the
        image has batch B. At the 64x64 layer, in the official order: modulate by HFGI's inversion
        condition, record `f_latent`, replace by `f_condition`, warp by each grid, modulate by the
        calibrator's `refinement`. The RGB skip of the lower resolutions is never warped.

        `below` is `below_feature(w_plus)` when the caller already has it (several renderings of one code).
        """
        layout = self._layout(w_plus)
        below = self.below_feature(w_plus) if below is None else below
        f_latent, feature = feature_stage(below.feature, inversion_condition, f_condition, grids, refinement)
        index = 2 + 2 * FEATURE_STAGE
        out = self.convs[2 * FEATURE_STAGE + 1](feature.contiguous(memory_format=layout), w_plus[:, index])
        skip = self.to_rgbs[FEATURE_STAGE](out, w_plus[:, index + 1], below.skip)
        last = len(self.to_rgbs) - 1
        quarter = output_size is not None and 4 * output_size == self.size and last > FEATURE_STAGE
        on_cpu = w_plus.device.type == "cpu"
        step = self.high_resolution_frames or (1 if on_cpu else out.shape[0])
        band_rows = self.band_rows or (CPU_BAND_ROWS if on_cpu else None)
        stages = range(FEATURE_STAGE + 1, last if quarter else last + 1)
        shared = [self._stage(stage, w_plus) for stage in stages] if w_plus.shape[0] == 1 else None  # modulated once for all frames
        pieces = []
        for start in range(0, out.shape[0], step):
            frames = slice(start, start + step)
            piece_out, piece_skip = out[frames], skip if skip.shape[0] == 1 else skip[frames]
            codes = w_plus if w_plus.shape[0] == 1 else w_plus[frames]
            layers = shared or [self._stage(stage, codes) for stage in stages]
            top = None if quarter or not layers else layers[-1]  # the last stage, whose features nothing reads
            for stage_layers in layers if top is None else layers[:-1]:
                piece_out, piece_skip = stage_layers(piece_out, piece_skip)
            if quarter:
                piece_skip = self._quarter_stage(last, piece_out, piece_skip, codes, clamp)
            elif top is not None:
                piece_skip = top.image(piece_out, piece_skip, band_rows)
            pieces.append(piece_skip)
        image = pieces[0] if len(pieces) == 1 else torch.cat(pieces)
        if not quarter:
            image = image.clamp(-1.0, 1.0) if clamp else image
            image = image if output_size in (None, self.size) else resize(image, output_size)
        return SynthesisOutput(image, f_latent)

    def _quarter_stage(self, stage: int, out: torch.Tensor, skip: torch.Tensor, codes: torch.Tensor, clamp: bool) -> torch.Tensor:
        """The last stage as `_stage`, its image downsized 4x at once: the up-convolution at every pixel,
        the convolution and to-RGB only where the downsizing reads."""
        index = 1 + 2 * stage
        out = self.convs[2 * stage](out, codes[:, index])
        out = self.convs[2 * stage + 1].quarter(out, codes[:, index + 1])
        return self.to_rgbs[stage].quarter(out, codes[:, index + 2], skip, clamp)
