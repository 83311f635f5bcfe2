"""AlexNet convolutional trunk in torchvision's layout (`features.*`), returning the five ReLU outputs LPIPS compares."""

from __future__ import annotations

import torch
from torch import nn

# Indices in `features` of the ReLUs whose outputs LPIPS taps (relu1 .. relu5).
LPIPS_TAPS = (1, 4, 7, 9, 11)
CHANNELS = (64, 192, 384, 256, 256)


class AlexNetFeatures(nn.Module):
    """torchvision `alexnet().features` (the 'one weird trick' variant of alexnet-owt-7be5be79.pth)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B,3,H,W) normalised image -> the five tapped ReLU activations."""
        taps = []
        for index, layer in enumerate(self.features[: LPIPS_TAPS[-1] + 1]):
            x = layer(x)
            if index in LPIPS_TAPS:
                taps.append(x)
        return taps
