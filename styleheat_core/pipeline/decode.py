"""Chunked decoding of a driven video: flows, warped and calibrated features and 1024² frames
are computed a few frames at a time, so memory does not grow with the video length.

While `decode_video` runs, freed large CPU blocks are kept for the next chunk instead of being unmapped
and faulted in again (`heap.reuse_freed_memory`); the heap is trimmed and glibc's usual settings are
restored when it returns or fails. `decode_chunks` leaves the allocator alone: a generator that is never
finished would keep the setting for the whole process."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterator

import torch

from ..models.stylegan2 import Generator
from .forward import MotionNetworks, calibrate, render_frames
from .handles import ModelHandle, unique_handles
from .heap import reuse_freed_memory
from .image_format import network_to_image
from .motion import MotionSource
from .source import SourceLatent

OUTPUT_SIZES = (1024, 512, 256)
# (frames done, total) -> None; may raise to cancel.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class WarpedFeatures:
    """What flows through STYLEHEAT_FEATURES sockets: the source, its motion and (after Calibrate) the calibration network.

    Nothing is computed until decoding: per frame, the source's 64x64 feature is warped by the
    motion's grids and, when `calibrator` is set, refined by its 64x64 (scale, shift).
    """

    latent: SourceLatent
    motion: MotionSource
    calibrator: ModelHandle[MotionNetworks] | None = None

    @property
    def num_frames(self) -> int:
        return self.motion.num_frames

    def calibrated(self, calibrator: ModelHandle[MotionNetworks]) -> "WarpedFeatures":
        return replace(self, calibrator=calibrator)

    def models(self) -> list[ModelHandle]:
        """Every network decoding runs, besides StyleGAN itself, each once."""
        calibrator = () if self.calibrator is None else (self.calibrator,)
        return unique_handles((*self.latent.models(), *self.motion.models(), *calibrator))

    @torch.no_grad()
    def frames(self, generator: Generator, frames: list[int]) -> torch.Tensor:
        """Raw 1024² frames (B,3,1024,1024) for these frame indices."""
        source = self.latent.at_frames(frames, self.num_frames)
        motion = self.motion.motion(source, frames)
        refinement = None if self.calibrator is None else calibrate(self.calibrator.module.calibrator, source.feature, motion)
        return render_frames(generator, source, motion, refinement)


def decode_chunks(generator: Generator, features: WarpedFeatures, size: int = 1024, chunk_size: int = 4) -> Iterator[torch.Tensor]:
    """Frames of the driven video as IMAGE chunks of at most `chunk_size` frames, in order."""
    if size not in OUTPUT_SIZES:
        raise ValueError(f"output size must be one of {OUTPUT_SIZES}; got {size}")
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1; got {chunk_size}")
    total = features.num_frames
    for start in range(0, total, chunk_size):
        yield network_to_image(features.frames(generator, list(range(start, min(start + chunk_size, total)))), size)


def decode_video(
    generator: Generator, features: WarpedFeatures, size: int = 1024, chunk_size: int = 4, on_progress: ProgressCallback | None = None
) -> torch.Tensor:
    """The whole driven video as one IMAGE batch (N,size,size,3), filled chunk by chunk into one buffer."""
    total = features.num_frames
    out = torch.empty((total, size, size, 3), dtype=torch.float32)
    done = 0
    with reuse_freed_memory():
        for chunk in decode_chunks(generator, features, size, chunk_size):
            out[done : done + chunk.shape[0]] = chunk
            done += chunk.shape[0]
            if on_progress is not None:
                on_progress(done, total)
    return out
