"""Lazily evaluated motion: what a STYLEHEAT_FLOW socket carries.

A motion source computes flows for any batch of frame indices on demand, so a graph holds
coefficients (73 floats a frame) rather than flows or warped features. Sources compose in
order: the video flow first, then e.g. an audio flow that moves the lips on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import torch

from ..preprocess.semantics import SEMANTIC_DIM, semantic_windows
from .inversion import Inversion
from .reenactment import FrameMotion, MotionNetworks, video_motion


class MotionSource(Protocol):
    """Per-frame motion for a source; `num_frames` is the length of the driven video."""

    num_frames: int

    def motion(self, source: Inversion, frames: Sequence[int]) -> FrameMotion:
        """Motion of `frames` for `source` (an Inversion batched like `frames`)."""
        ...


@dataclass(frozen=True)
class CoefficientMotion:
    """The official video flow: 73-d coefficients per frame, 27-frame windows, the video warper."""

    networks: MotionNetworks
    coefficients: torch.Tensor

    def __post_init__(self) -> None:
        shape = tuple(self.coefficients.shape)
        if len(shape) != 2 or shape[1] != SEMANTIC_DIM or shape[0] == 0:
            raise ValueError(f"Video Flow needs (frames >= 1, {SEMANTIC_DIM}) coefficients from StyleHEAT 3DMM Extract; got {shape}")

    @property
    def num_frames(self) -> int:
        return int(self.coefficients.shape[0])

    @torch.no_grad()
    def motion(self, source: Inversion, frames: Sequence[int]) -> FrameMotion:
        return video_motion(self.networks, source, semantic_windows(self.coefficients, frames))


@dataclass(frozen=True)
class ComposedMotion:
    """Motions applied one after another: grids in order, descriptor and flow from the first."""

    parts: tuple[MotionSource, ...]

    def __post_init__(self) -> None:
        lengths = {part.num_frames for part in self.parts}
        if len(lengths) != 1:
            raise ValueError(f"flows to combine must have the same number of frames; got {sorted(lengths)} (trim the longer input)")

    @property
    def num_frames(self) -> int:
        return self.parts[0].num_frames

    def motion(self, source: Inversion, frames: Sequence[int]) -> FrameMotion:
        motions = [part.motion(source, frames) for part in self.parts]
        grids = [grid for m in motions for grid in m.grids]
        return FrameMotion(motions[0].flow, grids, motions[0].descriptor)


def compose(*parts: MotionSource) -> MotionSource:
    """One motion source from several (nested compositions flattened)."""
    flat: list[MotionSource] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, ComposedMotion) else (part,))
    return flat[0] if len(flat) == 1 else ComposedMotion(tuple(flat))
