"""Video-rate framing of a mel spectrogram: frame count, the audio span used, and per-frame windows.

A frame `i` at `fps` gets `width` mel columns (80 columns per second) starting `lead` 25-fps frames
earlier; columns outside the spectrogram repeat its first or last column (edge padding):

- SadTalker (80x16): start = int(80 * (i - 2) / 25) (eade625 `get_data`),
- StyleHEAT AudioWarper (80x32): start = int(80 * max(0, i - 4) / 25) (official `transform_audio`).

Starts are computed in exact rational arithmetic, so any fps (29.97 = 30000/1001 included) works and
25 fps reproduces the official integers. Windows are cut on demand for a range of frames, so a
long clip never holds all of them at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
import torch

from ..progress import ProgressCallback
from .mel import HOP, MelVariant, melspectrogram
from .waveform import SAMPLE_RATE, Speech

Rounding = Literal["ceil", "floor"]
COLUMNS_PER_SECOND = SAMPLE_RATE // HOP
REFERENCE_FPS = 25
MAX_FPS_DENOMINATOR = 1_000_000


@dataclass(frozen=True)
class WindowSpec:
    """Mel columns per window, lead in 25-fps frames, and whether the shifted frame index is clamped at 0."""

    width: int
    lead_frames: int
    clamp_frame: bool


SADTALKER_WINDOW = WindowSpec(width=16, lead_frames=2, clamp_frame=False)
STYLEHEAT_WINDOW = WindowSpec(width=32, lead_frames=4, clamp_frame=True)


def as_fraction(fps: float) -> Fraction:
    """The frame rate as an exact fraction (29.97 -> 2997/100, 30000/1001 stays)."""
    if not (isinstance(fps, (int, float, Fraction)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number; got {fps!r}")
    return Fraction(fps).limit_denominator(MAX_FPS_DENOMINATOR)


def frame_count(num_samples: int, fps: float = REFERENCE_FPS, rounding: Rounding = "ceil") -> int:
    """Video frames for `num_samples` at 16 kHz: ceil(duration * fps) (default) or floor (SadTalker)."""
    exact = Fraction(num_samples) * as_fraction(fps) / SAMPLE_RATE
    if rounding not in ("ceil", "floor"):
        raise ValueError(f"rounding must be 'ceil' or 'floor'; got {rounding!r}")
    return math.ceil(exact) if rounding == "ceil" else math.floor(exact)


def samples_for_frames(num_frames: int, fps: float = REFERENCE_FPS) -> int:
    """Samples spanned by `num_frames` frames: int(num_frames * 16000 / fps)."""
    return math.floor(Fraction(num_frames * SAMPLE_RATE) / as_fraction(fps))


def window_starts(num_frames: int, fps: float = REFERENCE_FPS, spec: WindowSpec = SADTALKER_WINDOW) -> np.ndarray:
    """First mel column of each frame's window (int64, may be negative before clamping)."""
    rate = as_fraction(fps)
    p, q = rate.numerator, rate.denominator
    # 80 * (i / fps - lead / 25) = 80 * (25 i q - lead p) / (25 p)
    numerator = REFERENCE_FPS * q * np.arange(num_frames, dtype=np.int64) - spec.lead_frames * p
    if spec.clamp_frame:
        numerator = np.maximum(numerator, 0)
    numerator = COLUMNS_PER_SECOND * numerator
    denominator = REFERENCE_FPS * p
    return np.sign(numerator) * (np.abs(numerator) // denominator)


@dataclass(frozen=True)
class MelFrames:
    """A clip's mel spectrogram (float32 [80, columns]) and its video framing."""

    mel: np.ndarray
    num_frames: int
    fps: float

    def windows(self, spec: WindowSpec = SADTALKER_WINDOW, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Windows of frames start..stop-1 as float32 (N, 80, width), edge-padded."""
        stop = self.num_frames if stop is None else stop
        if not 0 <= start <= stop <= self.num_frames:
            raise ValueError(f"frame range {start}..{stop} is outside the clip's {self.num_frames} frames")
        first = window_starts(stop, self.fps, spec)[start:stop]
        columns = np.clip(first[:, None] + np.arange(spec.width), 0, self.mel.shape[1] - 1)
        return torch.from_numpy(np.ascontiguousarray(self.mel[:, columns].transpose(1, 0, 2)))


def fit_to_frames(samples: np.ndarray, num_frames: int, fps: float = REFERENCE_FPS) -> np.ndarray:
    """The samples cropped or zero-padded at the end to exactly the span of `num_frames` frames."""
    length = samples_for_frames(num_frames, fps)
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - len(samples), dtype=samples.dtype)])


def mel_frames(
    speech: Speech, fps: float = REFERENCE_FPS, variant: MelVariant = "legacy", rounding: Rounding = "ceil", progress: ProgressCallback | None = None
) -> MelFrames:
    """Frame a clip at `fps`: ceil(duration * fps) frames by default (the video then covers all the audio).

    `rounding="floor"` reproduces SadTalker, which drops the last partial frame. `progress` follows the spectrogram.
    """
    num_frames = frame_count(len(speech.samples), fps, rounding)
    if num_frames == 0:
        raise ValueError(
            f"audio of {speech.duration * 1000:.1f} ms is shorter than one video frame at {float(fps):g} fps; use a longer clip or rounding='ceil'"
        )
    return MelFrames(melspectrogram(fit_to_frames(speech.samples, num_frames, fps), variant, progress), num_frames, float(fps))
