"""LPIPS v0.1 (Zhang et al. 2018), AlexNet variant: the learned distance of the `lpips` package, in pure PyTorch.

Both images are shifted and scaled per channel, run through the AlexNet trunk, each tapped feature
is unit-normalised over channels, the squared differences are weighted by a learned 1x1 layer
(the 'linear heads' of lpips/weights/v0.1/alex.pth), averaged over space and summed over layers.
"""

from __future__ import annotations

import torch
from torch import nn

from .alexnet import CHANNELS, AlexNetFeatures

# lpips.ScalingLayer: the ImageNet statistics expressed for inputs in [-1, 1].
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10


class LinearHead(nn.Module):
    """lpips.NetLinLayer: dropout (inactive in eval) and a bias-free 1x1 conv to one channel (key `model.1.weight`)."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, kernel_size=1, stride=1, padding=0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LPIPSHeads(nn.Module):
    """The five linear heads `lin0` .. `lin4` of alex.pth."""

    def __init__(self):
        super().__init__()
        for index, channels in enumerate(CHANNELS):
            self.add_module(f"lin{index}", LinearHead(channels))

    def heads(self) -> list[LinearHead]:
        return [getattr(self, f"lin{index}") for index in range(len(CHANNELS))]


def _unit_channels(x: torch.Tensor) -> torch.Tensor:
    return x / (torch.sqrt(torch.sum(x * x, dim=1, keepdim=True)) + EPS)


class LPIPS(nn.Module):
    """Distance between two image batches in [-1, 1] (B,3,H,W) -> (B,)."""

    def __init__(self, trunk: AlexNetFeatures, heads: LPIPSHeads):
        super().__init__()
        self.trunk, self.heads = trunk, heads
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        features_a = self.trunk((a - self.shift) / self.scale)
        features_b = self.trunk((b - self.shift) / self.scale)
        total = 0
        for head, fa, fb in zip(self.heads.heads(), features_a, features_b):
            total = total + head((_unit_channels(fa) - _unit_channels(fb)) ** 2).mean(dim=(2, 3))
        return total.flatten()
