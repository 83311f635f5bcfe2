"""The Barbershop-style loss of the official optimisation inversion (EmbeddingLossBuilder).

total = MSE at 1024 + VGG19 perceptual/style at 256 + 0.001 * P-norm of W+ + 0.1 * ||F - F_init||².
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..models.perceptual import PerceptualLoss
from ..models.vgg19 import VGG19Features

PERCEPTUAL_SIZE = 256
STYLE_WEIGHT = 250.0
P_NORM_WEIGHT = 0.001
FEATURE_WEIGHT = 0.1
P_NORM_SLOPE = 5.0


@dataclass(frozen=True)
class WPlusPCA:
    """PCA of the LeakyReLU(5)-mapped W space (ffhq_PCA.npz): X_mean (512,), X_comp (512,512), X_stdev (512,)."""

    mean: torch.Tensor
    comp: torch.Tensor
    stdev: torch.Tensor


class InversionLoss(nn.Module):
    """Returns (total, components) with components loss_l2, loss_lpips, loss_p_norm, loss_l_F."""

    def __init__(self, vgg: VGG19Features, pca: WPlusPCA):
        super().__init__()
        self.perceptual = PerceptualLoss(vgg, num_scales=4, style_weight=STYLE_WEIGHT)
        self.pca = pca

    def p_norm(self, w_plus: torch.Tensor) -> torch.Tensor:
        mapped = F.leaky_relu(w_plus, negative_slope=P_NORM_SLOPE) - self.pca.mean.to(w_plus)
        projected = mapped.bmm(self.pca.comp.to(w_plus).T.unsqueeze(0).expand(w_plus.shape[0], -1, -1)) / self.pca.stdev.to(w_plus)
        return P_NORM_WEIGHT * projected.pow(2).mean()

    def forward(self, image: torch.Tensor, target: torch.Tensor, w_plus: torch.Tensor, feature: torch.Tensor, feature_init: torch.Tensor):
        size = (PERCEPTUAL_SIZE, PERCEPTUAL_SIZE)
        components = {
            "loss_l2": F.mse_loss(image, target),
            "loss_lpips": self.perceptual(
                F.interpolate(image, size=size, mode="bilinear", align_corners=False),
                F.interpolate(target, size=size, mode="bilinear", align_corners=False),
            ),
            "loss_p_norm": self.p_norm(w_plus),
            "loss_l_F": FEATURE_WEIGHT * (feature - feature_init).pow(2).mean(),
        }
        total = components["loss_l2"] + components["loss_lpips"] + components["loss_p_norm"] + components["loss_l_F"]
        return total, components
