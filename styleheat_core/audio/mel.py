"""The Wav2Lip 80-bin mel spectrogram (SadTalker `audio.melspectrogram`), computed in column blocks.

Recipe: pre-emphasis 0.97; centred STFT (n_fft 800, hop 200, periodic Hann 800); magnitude;
Slaney mel basis 55-7600 Hz; 20*log10(max(1e-5, .)) - 20 dB; symmetric normalisation to [-4, 4].
Two numerics exist:

- `legacy` (librosa 0.6.0, pinned by StyleHEAT): reflect-padded edges, STFT rounded to complex64,
  float64 mel basis.
- `modern` (librosa >= 0.9, SadTalker's later pin): zero-padded edges, complex128 STFT, float32 basis.

They differ only in the first and last two columns. Each block of columns reads just the samples
it needs, so memory stays bounded for long audio; the result is float32 [80, 1 + len // 200].
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import librosa
import numpy as np

from ..progress import ProgressCallback, report

MelVariant = Literal["legacy", "modern"]
VARIANTS = ("legacy", "modern")
N_FFT = 800
HOP = 200
N_MELS = 80
FMIN = 55.0
FMAX = 7600.0
PREEMPHASIS = 0.97
MIN_LEVEL_DB = -100.0
REF_LEVEL_DB = 20.0
MAX_ABS_VALUE = 4.0
BLOCK_COLUMNS = 2048


@lru_cache(maxsize=2)
def mel_basis(variant: MelVariant) -> np.ndarray:
    """(80, 401) Slaney mel filters at 16 kHz; float64 for `legacy`, float32 for `modern`."""
    dtype = np.float64 if variant == "legacy" else np.float32
    return librosa.filters.mel(sr=16000, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX, dtype=dtype)


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)


def _padded_preemphasised(samples: np.ndarray, start: int, stop: int, variant: MelVariant) -> np.ndarray:
    """Samples start..stop-1 of the pre-emphasised signal after centre padding (N_FFT // 2 each side), float64."""
    n = len(samples)
    index = np.arange(start, stop, dtype=np.int64) - N_FFT // 2
    inside = (index >= 0) & (index < n)
    if variant == "legacy":
        period = 2 * (n - 1)
        index = np.abs(index) % period if period else np.zeros_like(index)
        index = np.where(index >= n, period - index, index)
        inside = np.ones_like(inside)
    index = np.clip(index, 0, n - 1)
    x = samples[index].astype(np.float64)
    previous = np.where(index > 0, samples[np.maximum(index - 1, 0)].astype(np.float64), 0.0)
    return np.where(inside, x - PREEMPHASIS * previous, 0.0)


def _normalise(mel_amplitude: np.ndarray) -> np.ndarray:
    db = 20 * np.log10(np.maximum(10 ** (MIN_LEVEL_DB / 20), mel_amplitude)) - REF_LEVEL_DB
    return np.clip((2 * MAX_ABS_VALUE) * ((db - MIN_LEVEL_DB) / (-MIN_LEVEL_DB)) - MAX_ABS_VALUE, -MAX_ABS_VALUE, MAX_ABS_VALUE)


def mel_column_count(num_samples: int) -> int:
    """Columns of the centred STFT: 1 + num_samples // 200."""
    return 1 + num_samples // HOP


def melspectrogram(samples: np.ndarray, variant: MelVariant = "legacy", progress: ProgressCallback | None = None) -> np.ndarray:
    """16 kHz mono samples -> normalised mel spectrogram, float32 (80, 1 + len // 200); `progress(columns done, columns)` after each block."""
    if variant not in VARIANTS:
        raise ValueError(f"mel variant must be one of {VARIANTS}; got {variant!r}")
    samples = np.asarray(samples)
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(f"mel input must be a non-empty 1-D array of 16 kHz samples; got shape {samples.shape}")
    columns = mel_column_count(len(samples))
    basis = mel_basis(variant)
    out = np.empty((N_MELS, columns), dtype=np.float32)
    offsets = np.arange(N_FFT)
    for first in range(0, columns, BLOCK_COLUMNS):
        last = min(columns, first + BLOCK_COLUMNS)
        segment = _padded_preemphasised(samples, first * HOP, (last - 1) * HOP + N_FFT, variant)
        frames = segment[(np.arange(last - first) * HOP)[:, None] + offsets] * _hann()
        spectrum = np.fft.rfft(frames, axis=1)
        if variant == "legacy":
            spectrum = spectrum.astype(np.complex64)
        out[:, first:last] = _normalise(basis @ np.abs(spectrum).T)
        report(progress, last, columns)
    return out
