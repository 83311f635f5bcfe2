"""Stage 1: the video warper alone, trained with the multi-scale VGG19 perceptual loss on warped images.

As the official video_warper_trainer: each pair is used both ways (source -> driving and driving ->
source), and the second half's input is the horizontally mirrored source for the pairs flagged by the
dataset (official: per batch, probability 1/2). The official 'perceptual_warp_middle' term scores
intermediate images of PIRenderer's editing net, which the StyleHEAT VideoWarper does not have, so
only 'perceptual_warp' (weight 1) applies: warp(input, flow) vs the driving frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..models.perceptual import PerceptualLoss
from ..models.warper import VideoWarper, warp_image_with_flow
from .losses import init_from_scratch


@dataclass(frozen=True)
class WarperLossWeights:
    """configs/video_warper_trainer.yaml: weight_perceptual_warp."""

    perceptual_warp: float = 1.0


def both_ways(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, driving windows, targets) with the batch doubled: source->target, then target (or mirrored source)->source."""
    source, target = batch["source_image"], batch["target_image"]
    mirrored = batch["mirror"].view(-1, 1, 1, 1)
    second = torch.where(mirrored, source.flip(3), target)
    inputs = torch.cat([source, second])
    windows = torch.cat([batch["target_semantics"], batch["source_semantics"]])
    return inputs, windows, torch.cat([target, source])


class WarperStage:
    """Stage 1 for the engine: trains a VideoWarper (fresh with the official N(0, 0.02) init, or given)."""

    name = "stage1"

    def __init__(self, vgg: nn.Module, warper: VideoWarper | None = None, weights: WarperLossWeights = WarperLossWeights(), num_scales: int = 4):
        self.model = warper if warper is not None else init_from_scratch(VideoWarper())
        self.perceptual = PerceptualLoss(vgg, num_scales=num_scales)
        self.weights = weights

    def to(self, device: torch.device) -> None:
        self.model.to(device)
        self.perceptual.to(device)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor], step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        inputs, windows, targets = both_ways(batch)
        warped = warp_image_with_flow(inputs, model(inputs, windows).flow)
        term = self.weights.perceptual_warp * self.perceptual(warped.to(targets.dtype), targets)
        return term, {"perceptual_warp": term}

    def samples(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        inputs, windows, targets = both_ways(batch)
        return [inputs, targets, warp_image_with_flow(inputs, model(inputs, windows).flow)]
