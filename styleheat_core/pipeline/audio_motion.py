"""Audio-driven motion: the paper's AudioWarper composed after the video flow, as the official `StyleHEAT.forward`.

The video warper moves the source by a 73x27 coefficient window (from a driving video, from audio via
SadTalker, or the source itself for a still head). The 64x64 feature warped by that flow is rendered
by StyleGAN (no calibration), resized to 256, and the AudioWarper predicts a lower-face flow on it from
an 80x32 mel window (upper half zeroed). The final frame warps the source feature by the video grid,
then the audio grid; the calibrator keeps the video descriptor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..audio.frames import STYLEHEAT_WINDOW, MelFrames
from ..models.flow import flow_to_grid
from ..models.stylegan2 import Generator
from ..models.warper import AudioWarper
from .inversion import ENCODER_SIZE, Inversion, resize
from .motion import MotionSource
from .reenactment import FrameMotion, MotionNetworks, render_frames, video_motion


def video_warped_image(generator: Generator, source: Inversion, motion: FrameMotion) -> torch.Tensor:
    """The source rendered with its own 64x64 feature warped by the video grid, resized to 256 (official `video_warp_img`)."""
    batch = source.expand(motion.descriptor.shape[0])
    image = generator(batch.w_plus, inversion_condition=batch.condition, grids=motion.grids).image
    return resize(image, ENCODER_SIZE)


def with_audio_flow(generator: Generator, audio_warper: AudioWarper, source: Inversion, motion: FrameMotion, mel_windows: torch.Tensor) -> FrameMotion:
    """`motion` followed by the AudioWarper's lower-face flow from (B,80,32) mel windows: grids [..., audio]."""
    if mel_windows.shape[0] != motion.descriptor.shape[0]:
        raise ValueError(f"one mel window per frame is needed; got {mel_windows.shape[0]} mel windows for {motion.descriptor.shape[0]} frames")
    param = next(audio_warper.parameters())
    warped = video_warped_image(generator, source, motion).to(param.device, param.dtype)
    audio = audio_warper(warped, mel_windows.to(param.device, param.dtype))
    return FrameMotion(motion.flow, [*motion.grids, flow_to_grid(audio.flow).to(motion.grids[0])], motion.descriptor)


def audio_motion(
    generator: Generator, nets: MotionNetworks, audio_warper: AudioWarper, source: Inversion, windows: torch.Tensor, mel_windows: torch.Tensor
) -> FrameMotion:
    """Video flow from (B,73,27) windows, then the audio flow from (B,80,32) mel windows: grids [video, audio]."""
    if mel_windows.shape[0] != windows.shape[0]:
        raise ValueError(f"one mel window per coefficient window is needed; got {mel_windows.shape[0]} mel and {windows.shape[0]} coefficient windows")
    return with_audio_flow(generator, audio_warper, source, video_motion(nets, source, windows), mel_windows)


@dataclass(frozen=True)
class LipMotion:
    """A MotionSource: `base` (video or SadTalker motion) with the paper's AudioWarper lip flow after it, lazily per frame."""

    base: MotionSource
    generator: Generator
    audio_warper: AudioWarper
    mel: MelFrames

    def __post_init__(self) -> None:
        if self.mel.num_frames != self.base.num_frames:
            raise ValueError(f"the audio spans {self.mel.num_frames} frames but the motion has {self.base.num_frames}; use the same fps and length")

    @property
    def num_frames(self) -> int:
        return self.base.num_frames

    @torch.no_grad()
    def motion(self, source: Inversion, frames: Sequence[int]) -> FrameMotion:
        first, last = min(frames), max(frames)
        windows = self.mel.windows(STYLEHEAT_WINDOW, first, last + 1)[[f - first for f in frames]]
        return with_audio_flow(self.generator, self.audio_warper, source, self.base.motion(source, frames), windows)


@torch.no_grad()
def reenact_with_audio(
    generator: Generator, nets: MotionNetworks, audio_warper: AudioWarper, source: Inversion, windows: torch.Tensor, mel_windows: torch.Tensor
) -> torch.Tensor:
    """Frames (B,3,S,S) of `source`: pose and expression from the coefficient windows, lips refined by the audio."""
    return render_frames(generator, nets.calibrator, source, audio_motion(generator, nets, audio_warper, source, windows, mel_windows))
