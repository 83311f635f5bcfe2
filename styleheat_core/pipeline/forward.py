"""The StyleHEAT forward (official `StyleHEAT.forward`), written once for inference, audio, training and benchmarks.

Per batch of frames: the video warper predicts a flow from the source's 256² reconstruction and a
73x27 coefficient window (`predict_motion`); the source's 64x64 feature is warped by every grid in
order and the calibrator predicts its 64x64 (scale, shift) from the warped feature (`calibrate`);
StyleGAN renders the frame with the warped, calibrated feature in place of its own (`render_frames`),
taking the calibrator's warped feature as it is when both networks run in one dtype on one device.
`render_warped` is the official `video_warp_img`: the source rendered with only the warp, which the
AudioWarper sees and stage-2 training compares against; plain inference does not need it.
Each network gets its inputs cast to its own device and dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch
from torch import nn

from ..models.flow import flow_to_grid, warp
from ..models.modulation import FeatureModulation
from ..models.stylegan2 import BelowFeature, Generator
from .handles import module_input
from .inversion import Inversion


@dataclass(frozen=True)
class FrameMotion:
    """Motion of a batch of frames: the first flow (B,2,64,64) in 64-grid pixels, the sampling grids applied
    in order (video grid, then e.g. an audio grid), and the motion descriptor (B,256,1) the calibrator sees."""

    flow: torch.Tensor
    grids: tuple[torch.Tensor, ...]
    descriptor: torch.Tensor

    @property
    def batch(self) -> int:
        return int(self.descriptor.shape[0])

    def then(self, flow: torch.Tensor) -> "FrameMotion":
        """This motion followed by another flow (predicted on this motion's result)."""
        return FrameMotion(self.flow, (*self.grids, flow_to_grid(flow).to(self.grids[0])), self.descriptor)


class MotionNetworks(nn.Module):
    """StyleHEAT_visual.pt (`net_G_ema`): the video warper and the calibration network (keys video_warper.*, calibrator.*)."""

    def __init__(self, video_warper: nn.Module, calibrator: nn.Module):
        super().__init__()
        self.video_warper = video_warper
        self.calibrator = calibrator

    def forward(self, source: Inversion, windows: torch.Tensor) -> tuple[FrameMotion, Calibration]:
        """Motion and its calibration for (B,73,27) windows of a source batched like them (what training optimises)."""
        motion = predict_motion(self.video_warper, source.image256, windows)
        return motion, calibrate(self.calibrator, source.feature, motion)


def predict_motion(video_warper: nn.Module, image256: torch.Tensor, windows: torch.Tensor) -> FrameMotion:
    """The video warper's flow for (B,73,27) coefficient windows, from the source reconstruction (batch 1 or B)."""
    image = module_input(video_warper, image256).expand(windows.shape[0], -1, -1, -1)
    out = video_warper(image, module_input(video_warper, windows))
    return FrameMotion(out.flow, (flow_to_grid(out.flow),), out.descriptor)


def warp_feature(feature: torch.Tensor, grids: Sequence[torch.Tensor]) -> torch.Tensor:
    """The source 64x64 feature (batch 1 or B) warped by each grid in order."""
    warped = feature.expand(grids[0].shape[0], -1, -1, -1)
    for grid in grids:
        warped = warp(warped, grid)
    return warped


class Calibration(NamedTuple):
    """What the calibrator saw and made: the source feature warped by the motion's grids (in the calibrator's
    dtype, on its device) and the 64x64 (scale, shift) it predicted from it."""

    warped: torch.Tensor
    refinement: FeatureModulation


def calibrate(calibrator: nn.Module, feature: torch.Tensor, motion: FrameMotion) -> Calibration:
    """The calibrator's 64x64 (scale, shift) for the source feature warped by the motion, with that warped feature."""
    warped = warp_feature(module_input(calibrator, feature), [module_input(calibrator, g) for g in motion.grids])
    return Calibration(warped, calibrator.refinement(warped, module_input(calibrator, motion.descriptor)))


def shared_code(w_plus: torch.Tensor) -> torch.Tensor:
    """The first row of a batch of W+ codes when all rows are equal (the generator then shares it), else all rows.
    One code is returned without comparing (no host read, which a CUDA graph could not hold)."""
    first = w_plus[:1]
    return first if w_plus.shape[0] == 1 or torch.equal(w_plus, first.expand_as(w_plus)) else w_plus


def shared_below(generator: Generator, source: Inversion) -> BelowFeature | None:
    """The generator's layers below 64x64 for a source whose frames share one code (None when codes differ per
    frame): they depend on the code only, so `render_frames` can reuse them for every chunk of a video."""
    w_plus = shared_code(module_input(generator, source.w_plus))
    return generator.below_feature(w_plus) if w_plus.shape[0] == 1 else None


def render_frames(
    generator: Generator, source: Inversion, motion: FrameMotion, calibration: Calibration | None, below: BelowFeature | None = None
) -> torch.Tensor:
    """Final frames (B,3,1024,1024), raw network values (no clamp).

    The generator's 64x64 layer is replaced by the source feature, warped by the grids, then modulated by
    the calibration's refinement (None renders the warped feature as it is). The calibration's warped
    feature is that same warp: it is taken as it is when it is in the generator's dtype and on its device
    (one warp per chunk instead of two), and recomputed otherwise. The HFGI condition is not
    passed: it would only touch the layer output that the source feature replaces. Frames that share one
    W+ code (no per-frame edits) share the generator's layers below 64x64; `below` is `shared_below` of
    this source when the caller keeps it from an earlier chunk.
    """
    w_plus = module_input(generator, source.w_plus)
    if calibration is not None and (calibration.warped.dtype, calibration.warped.device) == (w_plus.dtype, w_plus.device):
        feature, grids = calibration.warped, []
    else:
        feature, grids = module_input(generator, source.feature), [module_input(generator, g) for g in motion.grids]
    return generator(
        shared_code(w_plus),
        f_condition=feature,
        grids=grids,
        refinement=None if calibration is None else calibration.refinement.to(w_plus),
        below=below,
    ).image


def render_warped(generator: Generator, source: Inversion, motion: FrameMotion, output_size: int | None = None) -> torch.Tensor:
    """The official `video_warp_img` (B,3,1024,1024): StyleGAN's own 64x64 feature of the source warped, uncalibrated;
    resized to output_size² if given (`Generator.forward`)."""
    w_plus = module_input(generator, source.w_plus).expand(motion.batch, -1, -1)
    condition = None if source.condition is None else source.condition.to(w_plus)
    grids = [module_input(generator, g) for g in motion.grids]
    return generator(w_plus, inversion_condition=condition, grids=grids, output_size=output_size).image


class StyleHEATOutput(NamedTuple):
    """The final frames and, when asked for, the official uncalibrated `video_warp_img`."""

    frames: torch.Tensor
    warped: torch.Tensor | None


def styleheat_forward(
    generator: Generator, networks: MotionNetworks, source: Inversion, windows: torch.Tensor, with_warped: bool = False
) -> StyleHEATOutput:
    """Official `StyleHEAT.forward` for a batch of (B,73,27) windows (source batch 1 or B): frames, and `video_warp_img` if asked."""
    motion, calibration = networks(source, windows)
    warped = render_warped(generator, source, motion) if with_warped else None
    return StyleHEATOutput(render_frames(generator, source, motion, calibration), warped)


@torch.no_grad()
def reenact(generator: Generator, networks: MotionNetworks, source: Inversion, windows: torch.Tensor) -> torch.Tensor:
    """1024² frames of `source` driven by a batch of 73x27 coefficient windows."""
    return styleheat_forward(generator, networks, source, windows).frames
