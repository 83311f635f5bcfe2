"""ResNet-50 backbone with torchvision's exact key layout, written without torchvision.

Used by Deep3DFaceRecon's coefficient regressor; the classifier head is omitted. In eval mode each
batch norm is folded into its convolution and the ReLU fused into it (`ops.conv_bn`); each block's
shortcut sum and ReLU are fused into its last convolution, which on the CPU writes into the shortcut's
buffer (`ops.conv_bn_add_relu`). Activations are channels_last on the CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from .ops import conv_bn, conv_bn_add_relu, cpu_layout

RESNET50_BLOCKS = (3, 4, 6, 3)
EXPANSION = 4


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided, torchvision v1.5) -> 1x1 with BN and ReLU, plus an optional downsampling shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        out_planes = planes * EXPANSION
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.downsample = None
        if stride != 1 or in_planes != out_planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(out_planes))

    def forward(self, x: torch.Tensor, consume_input: bool = False) -> torch.Tensor:
        """The block's output; with `consume_input` (the backbone's blocks) an identity shortcut's sum is
        written into x's storage, which the caller must not use afterwards."""
        identity = x if self.downsample is None else conv_bn(x, *self.downsample)
        out = conv_bn(x, self.conv1, self.bn1, 0.0)
        out = conv_bn(out, self.conv2, self.bn2, 0.0)
        return conv_bn_add_relu(out, self.conv3, self.bn3, identity, into_residual=consume_input or identity is not x)


class ResNet50Backbone(nn.Module):
    """conv1/bn1/maxpool + layer1..4, globally average-pooled to (B, 2048, 1, 1)."""

    out_channels = 512 * EXPANSION

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_planes = 64
        for index, (blocks, planes) in enumerate(zip(RESNET50_BLOCKS, (64, 128, 256, 512))):
            stride = 1 if index == 0 else 2
            layer = [Bottleneck(in_planes, planes, stride)] + [Bottleneck(planes * EXPANSION, planes) for _ in range(blocks - 1)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*layer))
            in_planes = planes * EXPANSION
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = cpu_layout(x)
        x = self.maxpool(conv_bn(x, self.conv1, self.bn1, 0.0))
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in layer:
                x = block(x, consume_input=True)  # each input was made in this forward (max pool or the block before)
        return self.avgpool(x)
