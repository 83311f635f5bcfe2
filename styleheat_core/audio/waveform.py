"""Any audio input (ComfyUI AUDIO dict, numpy array or tensor) -> 16 kHz mono float32 samples.

Channels are averaged (as librosa's mono load does); other rates are resampled with soxr's HQ
filter (librosa >= 0.10's default). Long inputs are mixed and resampled in chunks, so the extra
memory stays bounded whatever the duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import soxr
import torch

SAMPLE_RATE = 16000
CHUNK_SECONDS = 30


@dataclass(frozen=True)
class Speech:
    """Mono float32 samples at `SAMPLE_RATE` (16 kHz)."""

    samples: np.ndarray

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / SAMPLE_RATE


def channels_by_samples(waveform: Any) -> np.ndarray | torch.Tensor:
    """A (C, T) view of the input: AUDIO's [B, C, T] (B must be 1), [C, T] or [T]."""
    if isinstance(waveform, torch.Tensor):
        data = waveform.detach()
    else:
        data = np.asarray(waveform)
    if data.ndim == 3:
        if data.shape[0] != 1:
            raise ValueError(f"audio waveform has a batch of {data.shape[0]} clips; pass one clip (waveform shape [1, channels, samples])")
        data = data[0]
    elif data.ndim == 1:
        data = data[None]
    elif data.ndim != 2:
        raise ValueError(f"audio waveform must be [batch, channels, samples], [channels, samples] or [samples]; got shape {tuple(data.shape)}")
    if data.shape[-1] == 0 or data.shape[0] == 0:
        raise ValueError("audio has 0 samples: connect an audio clip that contains sound (check the file and the trim settings)")
    if data.shape[0] > data.shape[1] and data.shape[1] <= 8:
        raise ValueError(
            f"audio waveform of shape {tuple(data.shape)} looks like [samples, channels]; transpose it to [channels, samples]"
        )
    return data


def _mono_chunk(data: np.ndarray | torch.Tensor, start: int, stop: int) -> np.ndarray:
    chunk = data[:, start:stop]
    chunk = chunk.float().cpu().numpy() if isinstance(chunk, torch.Tensor) else np.asarray(chunk)
    if np.issubdtype(chunk.dtype, np.integer):
        chunk = chunk.astype(np.float32) / float(np.iinfo(chunk.dtype).max + 1)
    chunk = chunk.astype(np.float32, copy=False)
    if not np.all(np.isfinite(chunk)):
        raise ValueError("audio contains NaN or infinite samples; clean or re-decode the audio file")
    return chunk.mean(axis=0, dtype=np.float32) if chunk.shape[0] > 1 else chunk[0].copy()


def speech_16k(audio: Mapping[str, Any] | np.ndarray | torch.Tensor, sample_rate: int | None = None) -> Speech:
    """A ComfyUI AUDIO dict {"waveform": [B, C, T], "sample_rate": int}, or an array/tensor plus `sample_rate`, as 16 kHz mono.

    Integer PCM arrays are scaled to [-1, 1). Errors name what to change (empty audio, bad shape or rate).
    """
    if isinstance(audio, Mapping):
        if "waveform" not in audio or "sample_rate" not in audio:
            raise ValueError(f"AUDIO must be a dict with 'waveform' and 'sample_rate'; got keys {sorted(audio)}")
        waveform, sample_rate = audio["waveform"], audio["sample_rate"]
    else:
        waveform = audio
    if sample_rate is None:
        raise ValueError("the sample rate of the audio is unknown: pass sample_rate together with an array or tensor")
    rate = float(sample_rate)
    if not np.isfinite(rate) or rate <= 0:
        raise ValueError(f"audio sample rate must be a positive number of Hz; got {sample_rate}")
    data = channels_by_samples(waveform)
    total = data.shape[1]
    chunk = int(CHUNK_SECONDS * rate)
    if rate == SAMPLE_RATE:
        samples = np.empty(total, dtype=np.float32)
        for start in range(0, total, chunk):
            samples[start : start + chunk] = _mono_chunk(data, start, start + chunk)
        return Speech(samples)
    stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
    pieces = [stream.resample_chunk(_mono_chunk(data, start, start + chunk), last=start + chunk >= total) for start in range(0, total, chunk)]
    samples = np.concatenate(pieces)
    if samples.size == 0:
        raise ValueError(f"audio of {total} samples at {sample_rate} Hz is too short to resample to 16 kHz; use a longer clip")
    return Speech(samples)
