"""HFGI's residual networks: align the e4e residual to the rendering, encode it into a 64x64 (scale, shift).

Both are built from IR bottlenecks without SE, as in the official backbone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .ir_blocks import Stem, ir_sequence
from .ops import ConvActConv
from .stylegan2 import FEATURE_RESOLUTION


def _resize_like(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class ResidualAligner(nn.Module):
    """U-Net over cat(residual, e4e rendering) (6 ch, 256²) -> aligned residual (3 ch, 256²)."""

    def __init__(self):
        super().__init__()
        self.conv_layer1 = Stem(6, 16)
        self.conv_layer2 = ir_sequence([(16, 32, 2), (32, 32, 1), (32, 32, 1)])
        self.conv_layer3 = ir_sequence([(32, 48, 2), (48, 48, 1), (48, 48, 1)])
        self.conv_layer4 = ir_sequence([(48, 64, 2), (64, 64, 1), (64, 64, 1)])
        self.dconv_layer1 = ir_sequence([(112, 64, 1), (64, 32, 1), (32, 32, 1)])
        self.dconv_layer2 = ir_sequence([(64, 32, 1), (32, 16, 1), (16, 16, 1)])
        self.dconv_layer3 = ir_sequence([(32, 16, 1), (16, 3, 1), (3, 3, 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat1 = self.conv_layer1(x)
        feat2 = self.conv_layer2(feat1)
        feat3 = self.conv_layer3(feat2)
        feat4 = self.conv_layer4(feat3)
        up = self.dconv_layer1(torch.cat((_resize_like(feat4, feat3), feat3), 1))
        up = self.dconv_layer2(torch.cat((_resize_like(up, feat2), feat2), 1))
        return self.dconv_layer3(torch.cat((_resize_like(up, feat1), feat1), 1))


class ResidualEncoder(nn.Module):
    """Aligned residual (3 ch, 256²) -> (scale, shift) for the 64x64 StyleGAN feature, 512 channels each."""

    def __init__(self):
        super().__init__()
        self.conv_layer1 = Stem(3, 32)
        self.conv_layer2 = ir_sequence([(32, 48, 2), (48, 48, 1), (48, 48, 1)])
        self.conv_layer3 = ir_sequence([(48, 64, 2), (64, 64, 1), (64, 64, 1)])
        self.condition_scale3 = ConvActConv(64, 512, 512)
        self.condition_shift3 = ConvActConv(64, 512, 512)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.conv_layer3(self.conv_layer2(self.conv_layer1(x)))
        size = (FEATURE_RESOLUTION, FEATURE_RESOLUTION)
        scale = F.interpolate(self.condition_scale3(feat), size=size, mode="bilinear", align_corners=False)
        shift = F.interpolate(self.condition_shift3(feat), size=size, mode="bilinear", align_corners=False)
        return scale, shift
