"""Stage 2: the calibration network over a frozen StyleGAN2, with the paper's losses and the official weights.

Per pair, both ways (configs/video_styleheat_trainer.yaml, trainers/video_styleheat_trainer.py): the
FFHQ-aligned frame is inverted (e4e + HFGI, frozen), the video warper's flow warps its 64x64 feature,
the calibrator refines it, StyleGAN renders the frame. Losses, on the frame resized to the crop size:
- local: L1 on the mouth and eye boxes from the landmarks (weight 2);
- perceptual_final: VGG19 perceptual + 250 x style on fake*mask vs real*mask (0.2), the mask being 1
  on the eyes/mouth/nose boxes and 0.2 -> 0.05 -> 0.005 elsewhere over the iterations;
- perceptual_regular: the domain term, fake*(1-mask) vs the uncalibrated warped rendering (0.01);
- gan: the frozen StyleGAN2 discriminator on the fake (1 x 0.1, non-saturating);
- perceptual_warp: warped rendering vs real (0.02), only when the warper is fine-tuned (else it is constant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..models.ops import resize
from ..models.perceptual import PerceptualLoss
from ..models.stylegan2 import Generator
from ..pipeline.forward import MotionNetworks, render_frames, render_warped
from ..pipeline.inversion import Inversion
from .losses import generator_gan_loss, init_from_scratch, landmark_boxes, local_l1, soft_mask

STYLE_TO_PERCEPTUAL = 250.0


@dataclass(frozen=True)
class CalibrationLossWeights:
    """configs/video_styleheat_trainer.yaml loss_weight."""

    perceptual_warp: float = 0.02
    perceptual_final: float = 0.2
    perceptual_regular: float = 0.01
    gan: float = 1.0
    local: float = 2.0


@dataclass
class FrozenNetworks:
    """StyleGAN2 generator, the inversion (aligned image -> Inversion) and the discriminator with its input side."""

    generator: Generator
    invert: Callable[[torch.Tensor], Inversion]
    discriminator: nn.Module
    discriminator_size: int = 256


class CalibrationStage:
    """Stage 2 for the engine. `vgg`, `frozen` stay frozen; the warper trains only with `finetune_warper`."""

    name = "stage2"

    def __init__(
        self,
        video_warper: nn.Module,
        calibrator: nn.Module,
        frozen: FrozenNetworks,
        vgg: nn.Module,
        image_size: int = 512,
        finetune_warper: bool = False,
        weights: CalibrationLossWeights = CalibrationLossWeights(),
    ):
        self.model = MotionNetworks(video_warper.requires_grad_(finetune_warper), init_from_scratch(calibrator).requires_grad_(True).freeze_unused_heads())
        self.frozen = frozen
        for net in (frozen.generator, frozen.discriminator):
            net.eval().requires_grad_(False)
        self.perceptual_warp = PerceptualLoss(vgg)
        self.perceptual_final = PerceptualLoss(vgg, style_weight=STYLE_TO_PERCEPTUAL)
        self.image_size, self.finetune_warper, self.weights = image_size, finetune_warper, weights

    def to(self, device: torch.device) -> None:
        for net in (self.model, self.frozen.generator, self.frozen.discriminator, self.perceptual_warp):
            net.to(device)

    def _render(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Both ways: inputs, reals, landmarks, the warped (uncalibrated) and the calibrated renderings at image_size."""
        aligned = torch.cat([batch["source_align"], batch["target_align"]])
        windows = torch.cat([batch["target_semantics"], batch["source_semantics"]])
        with torch.no_grad():
            source = self.frozen.invert(aligned)
        motion, calibration = model(source, windows)
        generator = self.frozen.generator
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.finetune_warper):
            warped = render_warped(generator, source, motion)
        fake = render_frames(generator, source, motion, calibration)
        return {
            "input": aligned,
            "real": torch.cat([batch["target_image"], batch["source_image"]]),
            "landmarks": torch.cat([batch["target_landmarks"], batch["source_landmarks"]]),
            "warped": resize(warped, self.image_size),
            "fake": resize(fake, self.image_size),
        }

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor], step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = self._render(model, batch)
        fake, real, warped = out["fake"].float(), out["real"], out["warped"].float()
        boxes = landmark_boxes(out["landmarks"], self.image_size)
        mask = soft_mask(boxes, fake.shape, step, fake.device)
        w = self.weights
        terms = {
            "local": w.local * local_l1(fake, real, boxes[:, :3]),
            "perceptual_final": w.perceptual_final * self.perceptual_final(fake * mask, real * mask),
            "perceptual_regular": w.perceptual_regular * self.perceptual_final(fake * (1 - mask), warped.detach() * (1 - mask)),
            "gan": w.gan * generator_gan_loss(self.frozen.discriminator, fake, self.frozen.discriminator_size),
        }
        if self.finetune_warper:
            terms["perceptual_warp"] = w.perceptual_warp * self.perceptual_warp(warped, real)
        return sum(terms.values()), terms

    def samples(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        out = self._render(model, batch)
        return [out["input"], out["real"], out["warped"], out["fake"]]
