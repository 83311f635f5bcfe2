"""The small residual U-Net of SadTalker's pose CVAE: (B, 1, 32, 6) -> (B, 1, 32, 6), strided along time only."""

from __future__ import annotations

import torch
from torch import nn

FILTERS = (32, 64, 128, 256)
TIME_STRIDE = (2, 1)


class ResidualConv(nn.Module):
    """BN -> ReLU -> Conv(stride) -> BN -> ReLU -> Conv, plus a Conv(stride) -> BN skip."""

    def __init__(self, cin: int, cout: int, stride):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.ReLU(),
            nn.Conv2d(cin, cout, 3, stride, 1),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1),
        )
        self.conv_skip = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_block(x) + self.conv_skip(x)


class Upsample(nn.Module):
    """ConvTranspose2d doubling the time axis (key `upsample`)."""

    def __init__(self, channels: int):
        super().__init__()
        self.upsample = nn.ConvTranspose2d(channels, channels, kernel_size=TIME_STRIDE, stride=TIME_STRIDE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(x)


class ResUnet(nn.Module):
    """Three time-halving residual stages, a bridge, three upsampling stages with skips, then Conv1x1 + Sigmoid."""

    def __init__(self, channels: int = 1):
        super().__init__()
        f0, f1, f2, f3 = FILTERS
        self.input_layer = nn.Sequential(nn.Conv2d(channels, f0, 3, padding=1), nn.BatchNorm2d(f0), nn.ReLU(), nn.Conv2d(f0, f0, 3, padding=1))
        self.input_skip = nn.Sequential(nn.Conv2d(channels, f0, 3, padding=1))
        self.residual_conv_1 = ResidualConv(f0, f1, TIME_STRIDE)
        self.residual_conv_2 = ResidualConv(f1, f2, TIME_STRIDE)
        self.bridge = ResidualConv(f2, f3, TIME_STRIDE)
        self.upsample_1 = Upsample(f3)
        self.up_residual_conv1 = ResidualConv(f3 + f2, f2, 1)
        self.upsample_2 = Upsample(f2)
        self.up_residual_conv2 = ResidualConv(f2 + f1, f1, 1)
        self.upsample_3 = Upsample(f1)
        self.up_residual_conv3 = ResidualConv(f1 + f0, f0, 1)
        self.output_layer = nn.Sequential(nn.Conv2d(f0, 1, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.input_layer(x) + self.input_skip(x)
        x2 = self.residual_conv_1(x1)
        x3 = self.residual_conv_2(x2)
        up = self.up_residual_conv1(torch.cat([self.upsample_1(self.bridge(x3)), x3], dim=1))
        up = self.up_residual_conv2(torch.cat([self.upsample_2(up), x2], dim=1))
        up = self.up_residual_conv3(torch.cat([self.upsample_3(up), x1], dim=1))
        return self.output_layer(up)
