"""ArcFace-style IR / IR-SE bottleneck blocks, shared by the e4e encoder and HFGI (official key names).

In eval mode the batch norms that follow a convolution are folded into it (`ops.conv_bn`), the
max-pool shortcut (a 1x1 max-pool, i.e. subsampling) is a strided view and the residual is added in place.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .ops import conv2d, conv_bn, cpu_layout


class BlockSpec(NamedTuple):
    in_channel: int
    depth: int
    stride: int


def stage(in_channel: int, depth: int, units: int, stride: int = 2) -> list[BlockSpec]:
    """One resolution stage: a strided first unit, then `units - 1` unit-stride ones."""
    return [BlockSpec(in_channel, depth, stride)] + [BlockSpec(depth, depth, 1) for _ in range(units - 1)]


UNITS_PER_STAGE = {50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 152: (3, 8, 36, 3)}


def resnet_ir_specs(num_layers: int) -> list[BlockSpec]:
    """Bottleneck specs of the IR-50/100/152 body (64, 128, 256, 512 channels)."""
    if num_layers not in UNITS_PER_STAGE:
        raise ValueError(f"IR backbone depth must be one of {sorted(UNITS_PER_STAGE)}; got {num_layers}")
    units = UNITS_PER_STAGE[num_layers]
    widths = (64, 64, 128, 256, 512)
    return [spec for i, n in enumerate(units) for spec in stage(widths[i], widths[i + 1], n)]


class SEModule(nn.Module):
    """Squeeze-and-excitation with bias-free 1x1 convs (`fc1`, `fc2`)."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1, padding=0, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1, padding=0, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))


class BottleneckIR(nn.Module):
    """BN -> 3x3 conv -> PReLU -> strided 3x3 conv -> BN [-> SE], plus a (max-pool or 1x1 conv + BN) shortcut."""

    def __init__(self, in_channel: int, depth: int, stride: int, squeeze_excite: bool = False):
        super().__init__()
        if in_channel == depth:
            self.shortcut_layer = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2d(in_channel, depth, (1, 1), stride, bias=False), nn.BatchNorm2d(depth))
        layers = [
            nn.BatchNorm2d(in_channel),
            nn.Conv2d(in_channel, depth, (3, 3), (1, 1), 1, bias=False),
            nn.PReLU(depth),
            nn.Conv2d(depth, depth, (3, 3), stride, 1, bias=False),
            nn.BatchNorm2d(depth),
        ]
        if squeeze_excite:
            layers.append(SEModule(depth, 16))
        self.res_layer = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm, conv1, prelu, conv2, bn2, *squeeze_excite = self.res_layer
        out = F.prelu(conv2d(norm(x), conv1.weight, None, 1, 1), prelu.weight)
        out = conv_bn(out, conv2, bn2)
        for module in squeeze_excite:
            out = module(out)
        if isinstance(self.shortcut_layer, nn.MaxPool2d):
            stride = self.shortcut_layer.stride
            return out.add_(x[:, :, ::stride, ::stride])
        return out.add_(conv_bn(x, *self.shortcut_layer))


def ir_sequence(specs: list[tuple[int, int, int]], squeeze_excite: bool = False) -> nn.Sequential:
    """A Sequential of bottlenecks from (in_channel, depth, stride) triples."""
    return nn.Sequential(*(BottleneckIR(i, d, s, squeeze_excite) for i, d, s in specs))


class Stem(nn.Sequential):
    """3x3 bias-free conv + BN + PReLU, the input layer of every IR network here (keys 0, 1, 2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(nn.Conv2d(in_channels, out_channels, (3, 3), 1, 1, bias=False), nn.BatchNorm2d(out_channels), nn.PReLU(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv, bn, prelu = self
        x = cpu_layout(x)
        return F.prelu(conv_bn(x, conv, bn), prelu.weight)
