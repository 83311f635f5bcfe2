"""Chunked decoding of a driven video: flows, warped and calibrated features and 1024² frames
are computed a few frames at a time, so memory does not grow with the video length."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..models.stylegan2 import Generator
from .motion import MotionSource
from .reenactment import render_frames
from .source import SourceLatent

OUTPUT_SIZES = (1024, 512, 256)
# (frames done, total) -> None; may raise to cancel.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class WarpedFeatures:
    """What flows through STYLEHEAT_FEATURES sockets: the source, its motion and (after Calibrate) the calibrator.

    Nothing is computed until decoding: per frame, the source's 64x64 feature is warped by the
    motion's grids and, when `calibrator` is set, refined by its 64x64 (scale, shift).
    """

    latent: SourceLatent
    motion: MotionSource
    calibrator: nn.Module | None = None

    @property
    def num_frames(self) -> int:
        return self.motion.num_frames

    def calibrated(self, calibrator: nn.Module) -> "WarpedFeatures":
        return replace(self, calibrator=calibrator)


def to_image(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(B,3,1024,1024) network output in [-1,1] -> ComfyUI IMAGE (B,size,size,3) float32 in [0,1] on the CPU."""
    frames = frames.float().clamp(-1.0, 1.0)
    if frames.shape[-1] != size:
        frames = F.interpolate(frames, size=(size, size), mode="area")
    return ((frames + 1.0) / 2.0).permute(0, 2, 3, 1).cpu()


@torch.no_grad()
def decode_chunks(generator: Generator, features: WarpedFeatures, size: int = 1024, chunk_size: int = 4) -> Iterator[torch.Tensor]:
    """Frames of the driven video as IMAGE chunks of at most `chunk_size` frames, in order."""
    if size not in OUTPUT_SIZES:
        raise ValueError(f"output size must be one of {OUTPUT_SIZES}; got {size}")
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1; got {chunk_size}")
    param = next(generator.parameters())
    total = features.num_frames
    for start in range(0, total, chunk_size):
        frames = list(range(start, min(start + chunk_size, total)))
        source = features.latent.at_frames(frames, total).to(param.device, param.dtype)
        motion = features.motion.motion(source, frames).to(param.device, param.dtype)
        yield to_image(render_frames(generator, features.calibrator, source, motion), size)


def decode_video(
    generator: Generator, features: WarpedFeatures, size: int = 1024, chunk_size: int = 4, on_progress: ProgressCallback | None = None
) -> torch.Tensor:
    """The whole driven video as one IMAGE batch (N,size,size,3), filled chunk by chunk into one buffer."""
    total = features.num_frames
    out = torch.empty((total, size, size, 3), dtype=torch.float32)
    done = 0
    for chunk in decode_chunks(generator, features, size, chunk_size):
        out[done : done + chunk.shape[0]] = chunk
        done += chunk.shape[0]
        if on_progress is not None:
            on_progress(done, total)
    return out
