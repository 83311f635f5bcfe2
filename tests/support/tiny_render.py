"""A small, fast stand-in for the renderer's inputs: a 64² StyleGAN2 (random weights, the 64x64 hook layer included)
and a motion source without networks whose flow moves the feature differently on every frame."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

from styleheat_core.models.flow import flow_to_grid
from styleheat_core.models.pirender import DESCRIPTOR_NC
from styleheat_core.models.stylegan2 import FEATURE_RESOLUTION, Generator
from styleheat_core.pipeline.decode import WarpedFeatures
from styleheat_core.pipeline.forward import FrameMotion
from styleheat_core.pipeline.handles import LocalModel
from styleheat_core.pipeline.inversion import ENCODER_SIZE, Inversion, OptimizedInversion
from styleheat_core.pipeline.source import SourceLatent


@dataclass(frozen=True)
class SwayMotion:
    """A MotionSource without networks: frame i shifts the source feature by sin(i / 3) pixels."""

    num_frames: int
    fps: float | None = 25.0

    def models(self) -> tuple:
        return ()

    def inputs(self, frames: Sequence[int]) -> tuple[torch.Tensor, ...]:
        return (torch.tensor(list(frames), dtype=torch.float64),)

    def motion(self, source: Inversion, inputs: tuple[torch.Tensor, ...]) -> FrameMotion:
        (frames,) = inputs
        shift = (3.0 * torch.sin(frames / 3.0)).float().view(-1, 1, 1, 1)
        flow = shift.expand(len(frames), 2, FEATURE_RESOLUTION, FEATURE_RESOLUTION).contiguous()
        return FrameMotion(flow, (flow_to_grid(flow),), shift.new_zeros(len(frames), DESCRIPTOR_NC, 1))


@lru_cache(maxsize=1)
def tiny_generator() -> Generator:
    torch.manual_seed(0)
    return Generator(64, 512, 2, channel_multiplier=1).eval().requires_grad_(False)


@torch.no_grad()
def tiny_features(frames: int, fps: float | None = 25.0) -> WarpedFeatures:
    """Warped features of a seeded source under `SwayMotion`: what Render Video and Decode take."""
    generator = tiny_generator()
    w_plus = torch.randn(1, generator.n_latent, generator.style_dim, generator=torch.Generator().manual_seed(1))
    source = OptimizedInversion(w_plus, generator(w_plus).f_latent, torch.zeros(1, 3, ENCODER_SIZE, ENCODER_SIZE))
    return WarpedFeatures(SourceLatent(source, LocalModel(generator), None), SwayMotion(frames, fps))


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    """(channels, samples) float32 440 Hz tone."""
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], channels, axis=0)


def decoded(path) -> tuple[list[np.ndarray], float | None]:
    """Every frame of a video file (RGB uint8) and its sound's duration in seconds as the file states it (None without sound).

    The duration is the audio stream's, which excludes the encoder's priming and the padding of the last AAC frame
    (what players play); decoding would return those padding samples too.
    """
    import av

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = None if audio is None else float(audio.duration * audio.time_base)
    return frames, duration


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * math.log10(255.0**2 / error)
