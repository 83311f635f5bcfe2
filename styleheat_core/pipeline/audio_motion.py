"""Audio-driven motion: the paper's AudioWarper composed after the video flow, as the official `StyleHEAT.forward`.

The video warper moves the source by a 73x27 coefficient window (from a driving video, from audio via
SadTalker, or the source itself for a still head). The 64x64 feature warped by that flow is rendered
by StyleGAN (no calibration), resized to 256, and the AudioWarper predicts a lower-face flow on it from
an 80x32 mel window (upper half zeroed). The final frame warps the source feature by the video grid,
then the audio grid; the calibrator keeps the video descriptor.
"""

from __future__ import annotations

import torch

from ..models.flow import flow_to_grid
from ..models.stylegan2 import Generator
from ..models.warper import AudioWarper
from .inversion import ENCODER_SIZE, Inversion, resize
from .reenactment import FrameMotion, MotionNetworks, render_frames, video_motion


def video_warped_image(generator: Generator, source: Inversion, motion: FrameMotion) -> torch.Tensor:
    """The source rendered with its own 64x64 feature warped by the video grid, resized to 256 (official `video_warp_img`)."""
    batch = source.expand(motion.descriptor.shape[0])
    image = generator(batch.w_plus, inversion_condition=batch.condition, grids=motion.grids).image
    return resize(image, ENCODER_SIZE)


def audio_motion(
    generator: Generator, nets: MotionNetworks, audio_warper: AudioWarper, source: Inversion, windows: torch.Tensor, mel_windows: torch.Tensor
) -> FrameMotion:
    """Video flow from (B,73,27) windows, then the audio flow from (B,80,32) mel windows: grids [video, audio]."""
    if mel_windows.shape[0] != windows.shape[0]:
        raise ValueError(f"one mel window per coefficient window is needed; got {mel_windows.shape[0]} mel and {windows.shape[0]} coefficient windows")
    motion = video_motion(nets, source, windows)
    audio = audio_warper(video_warped_image(generator, source, motion), mel_windows.to(windows))
    return FrameMotion(motion.flow, [*motion.grids, flow_to_grid(audio.flow)], motion.descriptor)


@torch.no_grad()
def reenact_with_audio(
    generator: Generator, nets: MotionNetworks, audio_warper: AudioWarper, source: Inversion, windows: torch.Tensor, mel_windows: torch.Tensor
) -> torch.Tensor:
    """Frames (B,3,S,S) of `source`: pose and expression from the coefficient windows, lips refined by the audio."""
    return render_frames(generator, nets.calibrator, source, audio_motion(generator, nets, audio_warper, source, windows, mel_windows))
