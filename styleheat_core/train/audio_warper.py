"""Training recipe for the AudioWarper with pairs synthesised by the trained video warper (paper Fig. 5).

Audio mostly moves the mouth, so the target frame is first approached with the video warper driven by
the target's pose and the *source's* expression (rows 64:73 of the target window, rows 0:64 of the
source window). The AudioWarper, fed that pose-aligned image and the target's 80x32 mel window, must
then warp it onto the target frame; its flow's upper half is zeroed, so the loss is taken on the lower
half of the image only: L1 plus an optional perceptual term. The video warper stays frozen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..models.warper import AudioWarper, warp_image_with_flow
from ..preprocess.semantics import POSE_START
from .losses import init_from_scratch


@dataclass
class AudioWarperBatch:
    """256² images in [-1, 1] (B,3,256,256), 73x27 coefficient windows (B,73,27) and the target's mel window (B,80,32)."""

    source_image: torch.Tensor
    source_window: torch.Tensor
    target_window: torch.Tensor
    target_mel: torch.Tensor
    target_image: torch.Tensor


@dataclass(frozen=True)
class AudioWarperLossWeights:
    """Weights of the lower-half L1 and perceptual terms."""

    l1: float = 1.0
    perceptual: float = 1.0


def pose_aligned_window(target_window: torch.Tensor, source_window: torch.Tensor) -> torch.Tensor:
    """The target window with the source's expression rows: the target's pose, crop and timing, the source's mouth."""
    window = target_window.clone()
    window[:, :POSE_START] = source_window[:, :POSE_START]
    return window


@torch.no_grad()
def synthesize_pose_aligned(video_warper: nn.Module, batch: AudioWarperBatch) -> torch.Tensor:
    """The source warped by the frozen video warper to the target's pose with its own expression (the AudioWarper's input)."""
    flow = video_warper(batch.source_image, pose_aligned_window(batch.target_window, batch.source_window)).flow
    return warp_image_with_flow(batch.source_image, flow)


def _lower_half(x: torch.Tensor) -> torch.Tensor:
    return x[:, :, x.shape[2] // 2 :]


def audio_warper_loss(
    audio_warper: AudioWarper, pose_aligned: torch.Tensor, batch: AudioWarperBatch, weights: AudioWarperLossWeights = AudioWarperLossWeights(), perceptual: nn.Module | None = None
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its named terms for one batch: the pose-aligned image warped by the audio flow vs the target."""
    flow = audio_warper(pose_aligned, batch.target_mel).flow
    predicted = _lower_half(warp_image_with_flow(pose_aligned, flow))
    target = _lower_half(batch.target_image)
    terms = {"l1": weights.l1 * (predicted - target).abs().mean()}
    if perceptual is not None and weights.perceptual:
        terms["perceptual"] = weights.perceptual * perceptual(predicted, target)
    total = sum(terms.values())
    return total, {name: float(value.detach()) for name, value in terms.items()}


def audio_warper_step(
    audio_warper: AudioWarper,
    optimizer: torch.optim.Optimizer,
    video_warper: nn.Module,
    batch: AudioWarperBatch,
    weights: AudioWarperLossWeights = AudioWarperLossWeights(),
    perceptual: nn.Module | None = None,
) -> dict[str, float]:
    """One optimisation step of the AudioWarper (video warper frozen); returns the loss terms and their total."""
    audio_warper.train()
    pose_aligned = synthesize_pose_aligned(video_warper, batch)
    total, terms = audio_warper_loss(audio_warper, pose_aligned, batch, weights, perceptual)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return {**terms, "total": float(total.detach())}


def pair_batch(batch: dict[str, torch.Tensor]) -> AudioWarperBatch:
    """An AudioWarperBatch from a `data.PairDataset` batch read with mel windows."""
    return AudioWarperBatch(batch["source_image"], batch["source_semantics"], batch["target_semantics"], batch["target_mel"], batch["target_image"])


class AudioStage:
    """The audio stage for the training engine: a fresh AudioWarper (official N(0, 0.02) init) behind a frozen video warper."""

    name = "audio"

    def __init__(self, video_warper: nn.Module, perceptual: nn.Module | None = None, weights: AudioWarperLossWeights = AudioWarperLossWeights()):
        self.model = init_from_scratch(AudioWarper())
        self.video_warper = video_warper.eval().requires_grad_(False)
        self.perceptual, self.weights = perceptual, weights

    def to(self, device: torch.device) -> None:
        for net in (self.model, self.video_warper, self.perceptual):
            if net is not None:
                net.to(device)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor], step: int) -> tuple[torch.Tensor, dict[str, float]]:
        pairs = pair_batch(batch)
        return audio_warper_loss(model, synthesize_pose_aligned(self.video_warper, pairs), pairs, self.weights, self.perceptual)

    def samples(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        pairs = pair_batch(batch)
        pose_aligned = synthesize_pose_aligned(self.video_warper, pairs)
        return [pairs.source_image, pose_aligned, warp_image_with_flow(pose_aligned, model(pose_aligned, pairs.target_mel).flow), pairs.target_image]
