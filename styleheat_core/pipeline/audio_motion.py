"""Audio-driven lip motion: the paper's AudioWarper applied after another motion, as the official `StyleHEAT.forward`.

The earlier motion (a driving video, SadTalker coefficients, or the still source) warps the source;
StyleGAN renders that warped source without calibration (`render_warped`, the official
`video_warp_img`), resized to 256, and the AudioWarper predicts a lower-face flow on it from an 80x32
mel window (upper half zeroed). The final frame warps the source feature by the earlier grids, then
by the audio grid; the calibrator keeps the earlier motion's descriptor. So the lip flow is always
predicted on the result of the motion before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..audio.frames import STYLEHEAT_WINDOW, MelFrames
from ..models.stylegan2 import Generator
from ..models.warper import AudioWarper
from .forward import FrameMotion, render_warped
from .handles import ModelHandle, module_input
from .inversion import ENCODER_SIZE, Inversion
from .motion import MotionSource


def with_audio_flow(generator: Generator, audio_warper: AudioWarper, source: Inversion, motion: FrameMotion, mel_windows: torch.Tensor) -> FrameMotion:
    """`motion` followed by the AudioWarper's lower-face flow from (B,80,32) mel windows, predicted on `motion`'s rendering."""
    if mel_windows.shape[0] != motion.batch:
        raise ValueError(f"one mel window per frame is needed; got {mel_windows.shape[0]} mel windows for {motion.batch} frames")
    warped = render_warped(generator, source, motion, ENCODER_SIZE)
    audio = audio_warper(module_input(audio_warper, warped), module_input(audio_warper, mel_windows))
    return motion.then(audio.flow)


@dataclass(frozen=True)
class LipMotion:
    """A MotionSource: `base` with the paper's AudioWarper lip flow after it, lazily per frame."""

    base: MotionSource
    generator: ModelHandle[Generator]
    audio_warper: ModelHandle[AudioWarper]
    mel: MelFrames

    def __post_init__(self) -> None:
        if self.mel.num_frames != self.base.num_frames:
            raise ValueError(f"the audio spans {self.mel.num_frames} frames but the motion has {self.base.num_frames}; use the same fps and length")

    @property
    def num_frames(self) -> int:
        return self.base.num_frames

    @property
    def fps(self) -> float:
        """The audio's frame clock (the mel windows are framed at it)."""
        return self.mel.fps

    def models(self) -> tuple[ModelHandle, ...]:
        return (*self.base.models(), self.generator, self.audio_warper)

    def inputs(self, frames: Sequence[int]) -> tuple[torch.Tensor, ...]:
        """The base motion's inputs, then the frames' (B,80,32) mel windows."""
        first, last = min(frames), max(frames)
        windows = self.mel.windows(STYLEHEAT_WINDOW, first, last + 1)[[f - first for f in frames]]
        return (*self.base.inputs(frames), windows)

    @torch.no_grad()
    def motion(self, source: Inversion, inputs: tuple[torch.Tensor, ...]) -> FrameMotion:
        *base_inputs, windows = inputs
        base = self.base.motion(source, tuple(base_inputs))
        return with_audio_flow(self.generator.module, self.audio_warper.module, source, base, windows)
