"""Deep3DFaceRecon's coefficient regressor (ReconNetWrapper('resnet50', use_last_fc=False)).

224² RGB in [0, 1] -> 257 coefficients: id 80 | exp 64 | tex 80 | angle 3 | gamma 27 | tx, ty 2 | tz 1.
"""

from __future__ import annotations

import torch
from torch import nn

from .resnet import ResNet50Backbone

HEAD_SIZES = (80, 64, 80, 3, 27, 2, 1)
INPUT_SIZE = 224


class Deep3DReconNet(nn.Module):
    """ResNet-50 features followed by seven 1x1-conv heads, concatenated."""

    def __init__(self):
        super().__init__()
        self.backbone = ResNet50Backbone()
        self.final_layers = nn.ModuleList(nn.Conv2d(ResNet50Backbone.out_channels, n, kernel_size=1, bias=True) for n in HEAD_SIZES)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.dim() != 4 or image.shape[1:] != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"Deep3D input must be (B, 3, {INPUT_SIZE}, {INPUT_SIZE}) RGB in [0, 1]; got {tuple(image.shape)}")
        features = self.backbone(image)
        return torch.flatten(torch.cat([head(features) for head in self.final_layers], dim=1), 1)
