"""The per-frame StyleHEAT forward: motion -> flow -> warped, calibrated feature -> 1024² frame.

Official `StyleHEAT.forward` also renders a `video_warp_img` through a full extra StyleGAN pass whose
result never reaches the output frame; it is skipped here, the final frame is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..models.flow import flow_to_grid, warp
from ..models.stylegan2 import Generator
from .inversion import Inversion


@dataclass
class MotionNetworks:
    """The networks of StyleHEAT_visual.pt."""

    video_warper: nn.Module
    calibrator: nn.Module


@dataclass
class FrameMotion:
    """Per-frame motion of a batch: flows in 64-grid pixels, their sampling grids, and the descriptor."""

    flow: torch.Tensor
    grids: list[torch.Tensor]
    descriptor: torch.Tensor

    def to(self, device: torch.device | str, dtype: torch.dtype) -> "FrameMotion":
        return FrameMotion(self.flow.to(device, dtype), [g.to(device, dtype) for g in self.grids], self.descriptor.to(device, dtype))


def video_motion(nets: MotionNetworks, source: Inversion, windows: torch.Tensor) -> FrameMotion:
    """Run the video warper on the source reconstruction for a batch of (B,73,27) coefficient windows."""
    batch = windows.shape[0]
    param = next(nets.video_warper.parameters())
    out = nets.video_warper(source.image256.expand(batch, -1, -1, -1).to(param.device, param.dtype), windows.to(param.device, param.dtype))
    return FrameMotion(out.flow, [flow_to_grid(out.flow)], out.descriptor)


def warp_feature(feature: torch.Tensor, grids: Sequence[torch.Tensor]) -> torch.Tensor:
    """The source 64x64 feature warped by each grid in order (video grid, then audio grid if any)."""
    batch = grids[0].shape[0]
    warped = feature.expand(batch, -1, -1, -1)
    for grid in grids:
        warped = warp(warped, grid)
    return warped


def shared_code(w_plus: torch.Tensor) -> torch.Tensor:
    """The first row of a batch of W+ codes when all rows are equal (the generator then shares it), else all rows."""
    first = w_plus[:1]
    return first if torch.equal(w_plus, first.expand_as(w_plus)) else w_plus


def render_frames(generator: Generator, calibrator: nn.Module | None, source: Inversion, motion: FrameMotion) -> torch.Tensor:
    """Final frames (B,3,1024,1024), raw network values (no clamp).

    As official: the calibrator sees the warped feature; the generator's 64x64 layer is replaced
    by the unwarped source feature, warped by the grids, then refined by the calibrator's 64x64
    (scale, shift). The HFGI modulation is not passed: it would only touch the layer output that
    the source feature replaces. Without a calibrator the warped feature is decoded as it is.
    Frames that share one W+ code (no per-frame edits) share the generator's layers below 64x64.
    """
    batch = motion.descriptor.shape[0]
    frames = source.expand(batch)
    refining = None
    if calibrator is not None:
        param = next(calibrator.parameters())
        warped = warp_feature(frames.feature, motion.grids).to(param.device, param.dtype)
        refining = [r.to(frames.feature) for r in calibrator(warped, motion.descriptor.to(param.device, param.dtype))]
    return generator(
        shared_code(frames.w_plus),
        f_condition=frames.feature,
        grids=motion.grids,
        refining_condition=refining,
    ).image


@torch.no_grad()
def reenact(generator: Generator, nets: MotionNetworks, source: Inversion, windows: torch.Tensor) -> torch.Tensor:
    """1024² frames of `source` driven by a batch of 73x27 coefficient windows."""
    return render_frames(generator, nets.calibrator, source, video_motion(nets, source, windows))
