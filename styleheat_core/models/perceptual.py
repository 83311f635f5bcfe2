"""Multi-scale VGG19 perceptual loss with an optional Gram (style) term, as the official PerceptualLoss.

Inputs in [-1, 1] are mapped to ImageNet statistics; L1 distances of relu{1..5}_1 features are
summed over `num_scales` halvings; the style term (L1 of Gram matrices) uses scale 0 only.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .vgg19 import RELU_X_1, VGG19Features

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalise(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images -> ImageNet-normalised."""
    x = (x + 1) / 2
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def gram_matrix(feature: torch.Tensor) -> torch.Tensor:
    batch, channels, height, width = feature.shape
    flat = feature.reshape(batch, channels, height * width)
    return flat.bmm(flat.transpose(1, 2)) / (height * width * channels)


class PerceptualLoss(nn.Module):
    """Sum over scales and layers of L1(VGG features) [+ style_weight * L1(Gram) at scale 0]."""

    def __init__(self, vgg: VGG19Features, layers: Sequence[int] = RELU_X_1, num_scales: int = 4, style_weight: float = 0.0):
        super().__init__()
        self.vgg = vgg.eval().requires_grad_(False)
        self.layers = tuple(layers)
        self.num_scales = num_scales
        self.style_weight = style_weight

    def forward(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        image, target = imagenet_normalise(image), imagenet_normalise(target)
        loss = image.new_zeros(())
        style = image.new_zeros(())
        for scale in range(self.num_scales):
            for mine, theirs in zip(self.vgg(image, self.layers), self.vgg(target, self.layers)):
                theirs = theirs.detach()
                loss = loss + F.l1_loss(mine, theirs)
                if self.style_weight and scale == 0:
                    style = style + F.l1_loss(gram_matrix(mine), gram_matrix(theirs))
            if scale != self.num_scales - 1:
                image = F.interpolate(image, scale_factor=0.5, mode="bilinear", align_corners=False, recompute_scale_factor=True)
                target = F.interpolate(target, scale_factor=0.5, mode="bilinear", align_corners=False, recompute_scale_factor=True)
        return loss + style * self.style_weight if self.style_weight else loss
