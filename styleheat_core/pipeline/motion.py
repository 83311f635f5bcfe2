"""Lazily evaluated motion: what a STYLEHEAT_FLOW socket carries.

A motion source computes the flows of any batch of frame indices on demand, so a graph holds
coefficients (73 floats a frame) rather than flows or warped features. `models()` names the networks
it will use, so that whoever evaluates it can load them all at once.

Computing a batch's motion has two parts: `inputs(frames)` gathers what the frames need on the host
(coefficient windows, mel windows), and `motion(source, inputs)` runs the networks on those tensors
alone. So the device part of a chunk is a function of tensors whose shapes repeat from chunk to chunk,
which a CUDA graph can replay (`cuda_graph.py`); `frame_motion` does both parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import torch

from ..preprocess.semantics import SEMANTIC_DIM, semantic_windows
from .forward import FrameMotion, MotionNetworks, predict_motion
from .frame_clock import check_fps
from .handles import ModelHandle
from .inversion import Inversion


class MotionSource(Protocol):
    """Per-frame motion for a source; `num_frames` is the length of the driven video, `fps` its frame rate (None = unknown)."""

    @property
    def num_frames(self) -> int: ...

    @property
    def fps(self) -> float | None: ...

    def models(self) -> tuple[ModelHandle, ...]:
        """The networks `motion` runs."""
        ...

    def inputs(self, frames: Sequence[int]) -> tuple[torch.Tensor, ...]:
        """What `motion` needs of these frames, gathered on the host, each tensor batched like `frames`."""
        ...

    def motion(self, source: Inversion, inputs: tuple[torch.Tensor, ...]) -> FrameMotion:
        """Motion of the frames whose `inputs` these are, for `source` (an inversion of batch 1, or batched like them).
        Only tensor operations on `inputs`: no host reads, so a CUDA graph can capture it."""
        ...


def frame_motion(motion: MotionSource, source: Inversion, frames: Sequence[int]) -> FrameMotion:
    """Motion of `frames` for `source`: `motion.inputs`, then `motion.motion`."""
    return motion.motion(source, motion.inputs(frames))


@dataclass(frozen=True)
class CoefficientMotion:
    """The official video flow: 73-d coefficients per frame, 27-frame windows, the video warper."""

    networks: ModelHandle[MotionNetworks]
    coefficients: torch.Tensor
    fps: float | None = None

    def __post_init__(self) -> None:
        if self.fps is not None:
            check_fps(self.fps, "the motion's fps")
        shape = tuple(self.coefficients.shape)
        if len(shape) != 2 or shape[1] != SEMANTIC_DIM or shape[0] == 0:
            raise ValueError(f"Video Flow needs (frames >= 1, {SEMANTIC_DIM}) coefficients from 3DMM Extract; got {shape}")
        if not torch.isfinite(self.coefficients).all():
            raise ValueError("the motion coefficients contain NaN or infinite values; re-run 3DMM Extract or check the edits feeding Video Flow")

    @property
    def num_frames(self) -> int:
        return int(self.coefficients.shape[0])

    def models(self) -> tuple[ModelHandle, ...]:
        return (self.networks,)

    def inputs(self, frames: Sequence[int]) -> tuple[torch.Tensor, ...]:
        """The frames' (B,73,27) coefficient windows."""
        return (semantic_windows(self.coefficients, frames),)

    @torch.no_grad()
    def motion(self, source: Inversion, inputs: tuple[torch.Tensor, ...]) -> FrameMotion:
        (windows,) = inputs
        return predict_motion(self.networks.module.video_warper, source.image256, windows)
