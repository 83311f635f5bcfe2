"""StyleGAN2 discriminator (rosinality layout), used frozen by the stage-2 training loss."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .ops import BLUR_KERNEL, ConvLayer, EqualLinear, ResBlock
from .stylegan2 import channel_widths

STDDEV_GROUP = 4


class Discriminator(nn.Module):
    """Image (B,3,size,size) -> realness score (B,1), with a minibatch standard-deviation channel."""

    def __init__(self, size: int = 256, channel_multiplier: int = 2, blur_kernel: Sequence[float] = BLUR_KERNEL):
        super().__init__()
        self.size = size
        channels = channel_widths(channel_multiplier)
        convs: list[nn.Module] = [ConvLayer(3, channels[size], 1)]
        in_channel = channels[size]
        for log_res in range(int(math.log2(size)), 2, -1):
            out_channel = channels[2 ** (log_res - 1)]
            convs.append(ResBlock(in_channel, out_channel, blur_kernel))
            in_channel = out_channel
        self.convs = nn.Sequential(*convs)
        self.stddev_group = STDDEV_GROUP
        self.stddev_feat = 1
        self.final_conv = ConvLayer(in_channel + 1, channels[4], 3)
        self.final_linear = nn.Sequential(EqualLinear(channels[4] * 4 * 4, channels[4], activation="fused_lrelu"), EqualLinear(channels[4], 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.dim() != 4 or tuple(image.shape[1:]) != (3, self.size, self.size):
            raise ValueError(f"discriminator takes (B, 3, {self.size}, {self.size}) images; got {tuple(image.shape)} (resize to {self.size}² first)")
        group = min(image.shape[0], self.stddev_group)
        if image.shape[0] % group:
            raise ValueError(f"discriminator batch size must be a multiple of {group} (or smaller than {self.stddev_group}); got {image.shape[0]}")
        out = self.convs(image)
        batch, channel, height, width = out.shape
        stddev = out.view(group, -1, self.stddev_feat, channel // self.stddev_feat, height, width)
        stddev = torch.sqrt(stddev.var(0, unbiased=False) + 1e-8).mean([2, 3, 4], keepdim=True).squeeze(2)
        out = torch.cat([out, stddev.repeat(group, 1, height, width)], 1)
        return self.final_linear(self.final_conv(out).view(batch, -1))
