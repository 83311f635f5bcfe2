"""StyleHEAT's calibration network: a U-Net over the warped 64x64 feature that predicts SFT (scale, shift) maps.

The official module returns 8 maps, (scale, shift) at 8, 16, 32 and 64 (`forward`, kept for the
golden cases and training parity); the generator consumes only the 64x64 pair, which `refinement`
computes without the unused heads. `refinement_from_official` names that pair in an official list.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .modulation import FeatureModulation
from .ops import BLUR_KERNEL, SQRT2, ConvActConv, ConvLayer, FusedLeakyReLU, ResBlock, ScaledLeakyReLU, add_residual, conv2d, cpu_layout
from .pirender import DESCRIPTOR_NC, PIRENDER_SLOPE, FineADAINResBlock2d
from .stylegan2 import channel_widths

OFFICIAL_CONDITIONS = 8


class ConvUpLayer(nn.Module):
    """Bilinear 2x upsampling then an equalised conv, with optional fused activation."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, bias: bool = True, activate: bool = True):
        super().__init__()
        self.padding = padding
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias and not activate else None
        self.activation = (FusedLeakyReLU(out_channels) if bias else ScaledLeakyReLU(0.2)) if activate else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """The layer's output times `gain` (> 0): gain, activation bias and sqrt(2) are folded into the convolution."""
        out = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        if self.activation is None:
            bias = None if self.bias is None else self.bias * gain
            return conv2d(out, self.weight * (self.scale * gain), bias, padding=self.padding)
        bias = self.activation.bias * (SQRT2 * gain) if isinstance(self.activation, FusedLeakyReLU) else None
        weight = self.weight * (self.scale * SQRT2 * gain)
        return conv2d(out, weight, bias, padding=self.padding, negative_slope=self.activation.negative_slope)


class ResUpBlock(nn.Module):
    """Residual 2x upsampling block: (conv -> up-conv) + up-conv skip, divided by sqrt(2) (folded into both convolutions)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = ConvLayer(in_channels, in_channels, 3)
        self.conv2 = ConvUpLayer(in_channels, out_channels, 3, padding=1)
        self.skip = ConvUpLayer(in_channels, out_channels, 1, bias=False, activate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return add_residual(self.conv2(self.conv1(x), 1 / SQRT2), self.skip(x, 1 / SQRT2))


def _sft_head(channels: int, out_channels: int) -> ConvActConv:
    return ConvActConv(channels, channels, out_channels)


class CalibrationNet(nn.Module):
    """Warped feature (B,512,64,64) + descriptor (B,256,1) -> [scale8, shift8, ..., scale64, shift64]."""

    def __init__(
        self,
        out_size: int = 64,
        input_channel: int = 512,
        num_style_feat: int = 512,
        channel_multiplier: int = 2,
        narrow: float = 1,
        resample_kernel: Sequence[float] = BLUR_KERNEL,
    ):
        super().__init__()
        self.num_style_feat = num_style_feat  # part of the official signature; the U-Net does not use it
        unet_narrow = narrow * 0.5
        widths = {res: int(c * unet_narrow) for res, c in channel_widths(channel_multiplier).items()}
        self.log_size = int(math.log2(out_size))
        self.input_channel = input_channel
        self.conv_body_first = ConvLayer(input_channel, widths[2**self.log_size], 1)
        in_channels = widths[2**self.log_size]
        self.conv_body_down = nn.ModuleList()
        for log_res in range(self.log_size, 2, -1):
            self.conv_body_down.append(ResBlock(in_channels, widths[2 ** (log_res - 1)], resample_kernel))
            in_channels = widths[2 ** (log_res - 1)]
        self.final_conv = ConvLayer(in_channels, widths[4], 3)
        in_channels = widths[4]
        self.conv_body_up = nn.ModuleList()
        for log_res in range(3, self.log_size + 1):
            self.conv_body_up.append(ResUpBlock(in_channels, widths[2**log_res]))
            in_channels = widths[2**log_res]
        self.linear_3dmm = nn.Sequential(nn.Linear(DESCRIPTOR_NC, DESCRIPTOR_NC), nn.LeakyReLU(PIRENDER_SLOPE), nn.Linear(DESCRIPTOR_NC, DESCRIPTOR_NC))
        self.inject_3dmm = nn.ModuleList()
        self.condition_scale = nn.ModuleList()
        self.condition_shift = nn.ModuleList()
        for log_res in range(3, self.log_size + 1):
            channels = widths[2**log_res]
            self.inject_3dmm.append(FineADAINResBlock2d(channels, DESCRIPTOR_NC))
            self.condition_scale.append(_sft_head(channels, channels * 2))
            self.condition_shift.append(_sft_head(channels, channels * 2))

    def _levels(self, feature: torch.Tensor, descriptor: torch.Tensor):
        """The decoder feature at 8, 16, 32 and 64, each after its 3DMM injection, with its level index."""
        stride = 2 ** len(self.conv_body_down)
        if feature.dim() != 4 or feature.shape[1] != self.input_channel or feature.shape[2] % stride or feature.shape[3] % stride:
            raise ValueError(
                f"calibrator input must be a (B, {self.input_channel}, H, W) feature with H and W multiples of {stride}; got {tuple(feature.shape)}"
            )
        if descriptor.shape[0] != feature.shape[0] or descriptor[0].numel() != DESCRIPTOR_NC:
            raise ValueError(f"calibrator descriptor must be (B, {DESCRIPTOR_NC}, 1) with the feature's batch; got {tuple(descriptor.shape)}")
        feat = self.conv_body_first(cpu_layout(feature))
        skips = []
        for block in self.conv_body_down:
            feat = block(feat)
            skips.insert(0, feat)
        feat = self.final_conv(feat)
        z = self.linear_3dmm(descriptor.reshape(descriptor.shape[0], -1))
        for level, (skip, up, inject) in enumerate(zip(skips, self.conv_body_up, self.inject_3dmm)):
            feat = inject(up(feat + skip), z)
            yield level, feat

    def forward(self, feature: torch.Tensor, descriptor: torch.Tensor) -> list[torch.Tensor]:
        """The official output: [scale8, shift8, scale16, shift16, scale32, shift32, scale64, shift64]."""
        conditions = []
        for level, feat in self._levels(feature, descriptor):
            conditions += [self.condition_scale[level](feat), self.condition_shift[level](feat)]
        return conditions

    def freeze_unused_heads(self) -> "CalibrationNet":
        """Stop gradients to the 8/16/32 (scale, shift) heads: their maps never reach the generator, so they never
        learn (officially either); frozen, DDP and the optimiser skip them. Returns self."""
        for heads in (self.condition_scale, self.condition_shift):
            for head in heads[:-1]:
                head.requires_grad_(False)
        return self

    def refinement(self, feature: torch.Tensor, descriptor: torch.Tensor) -> FeatureModulation:
        """The 64x64 (scale, shift) pair the generator applies, without computing the unused lower heads."""
        *_, (level, feat) = self._levels(feature, descriptor)
        return FeatureModulation(self.condition_scale[level](feat), self.condition_shift[level](feat))


def refinement_from_official(conditions: Sequence[torch.Tensor]) -> FeatureModulation:
    """The pair the official generator applies from a calibrator's 8-map list: the 64x64 (scale, shift), items 6 and 7."""
    if len(conditions) != OFFICIAL_CONDITIONS:
        raise ValueError(f"an official calibrator output has {OFFICIAL_CONDITIONS} maps; got {len(conditions)}")
    return FeatureModulation(conditions[6], conditions[7])
