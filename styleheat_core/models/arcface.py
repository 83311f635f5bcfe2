"""ArcFace IR-SE50 (the pSp/e4e identity network, model_ir_se50.pth): 112x112 face -> unit 512-d identity embedding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .batch_counters import without_batch_counters
from .ir_blocks import Stem, ir_sequence, resnet_ir_specs

INPUT_SIZE = 112
EMBEDDING = 512


class ArcFaceIRSE50(nn.Module):
    """pSp's Backbone(112, 50, 'ir_se'): stem, 24 IR-SE bottlenecks, BN-dropout-linear-BN head, L2 normalisation."""

    def __init__(self):
        super().__init__()
        self.input_layer = Stem(3, 64)
        self.body = ir_sequence(resnet_ir_specs(50), squeeze_excite=True)
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512),
            nn.Dropout(0.6),
            nn.Flatten(),
            nn.Linear(512 * 7 * 7, EMBEDDING),
            nn.BatchNorm1d(EMBEDDING),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,3,112,112) in [-1, 1] -> (B,512) with unit L2 norm."""
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"ArcFace takes (B, 3, {INPUT_SIZE}, {INPUT_SIZE}) faces in [-1, 1]; got {tuple(x.shape)}")
        return F.normalize(self.output_layer(self.body(self.input_layer(x))), dim=1)


def build_arcface() -> ArcFaceIRSE50:
    """IR-SE50 without BatchNorm counters in its state dict (see batch_counters)."""
    return without_batch_counters(ArcFaceIRSE50())
