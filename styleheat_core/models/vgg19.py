"""VGG19 feature extractor with torchvision's `vgg19().features` key layout (`features.N.*`).

Used by the perceptual losses (optimisation inversion, training). Weights come from a
torchvision-format file supplied by the user; torchvision itself is never imported.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

CONFIG_E = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
# Module indices of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 in `features`.
RELU_X_1 = (1, 6, 11, 20, 29)


class VGG19Features(nn.Module):
    """conv3x3(pad 1) + ReLU stacks with 2x2 max-pooling (configuration E)."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for entry in CONFIG_E:
            if entry == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_channels, entry, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                in_channels = entry
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, layer_indices: Sequence[int] = RELU_X_1) -> list[torch.Tensor]:
        """Activations after the given module indices, stopping after the deepest one requested."""
        wanted = set(layer_indices)
        outputs = {}
        for index, layer in enumerate(self.features[: max(wanted) + 1]):
            x = layer(x)
            if index in wanted:
                outputs[index] = x
        return [outputs[i] for i in layer_indices]
