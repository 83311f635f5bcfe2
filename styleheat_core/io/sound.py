"""Soundtracks for the video writer: in-memory samples or a media file decoded block by block (PyAV).

A sound source knows its rate, channel count and length up front (the writer checks that it covers
the video before any frame is rendered) and yields (channels, n) float32 blocks in [-1, 1] in order,
so a file's sound is never held in memory whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

import av
import numpy as np

BLOCK_SECONDS = 1.0
MAX_CHANNELS = 2


class SoundSource(Protocol):
    """What the writer reads a soundtrack from."""

    @property
    def rate(self) -> int: ...

    @property
    def channels(self) -> int: ...

    @property
    def num_samples(self) -> int: ...

    def blocks(self) -> Iterator[np.ndarray]:
        """(channels, n) float32 blocks covering every sample, in order."""
        ...


def _mono_or_stereo(block: np.ndarray) -> np.ndarray:
    """(C, n) float32 with C <= 2: more channels are mixed down to mono."""
    block = np.asarray(block, dtype=np.float32)
    return block if block.shape[0] <= MAX_CHANNELS else block.mean(axis=0, keepdims=True)


def _as_float(block: np.ndarray) -> np.ndarray:
    if np.issubdtype(block.dtype, np.integer):
        return block.astype(np.float32) / float(np.iinfo(block.dtype).max + 1)
    return block.astype(np.float32, copy=False)


@dataclass(frozen=True)
class ArraySound:
    """Samples already in memory: (channels, samples) float32 in [-1, 1] at `rate` Hz."""

    samples: np.ndarray
    rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 2 or self.samples.shape[1] == 0:
            raise ValueError(f"a soundtrack needs (channels, samples >= 1) samples; got shape {self.samples.shape}")
        if not 1 <= self.rate <= 384000:
            raise ValueError(f"the audio sample rate must be 1..384000 Hz; got {self.rate}")

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0]) if self.samples.shape[0] <= MAX_CHANNELS else 1

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[1])

    def blocks(self) -> Iterator[np.ndarray]:
        step = max(1, int(self.rate * BLOCK_SECONDS))
        for start in range(0, self.num_samples, step):
            block = _mono_or_stereo(_as_float(np.asarray(self.samples[:, start : start + step])))
            if not np.all(np.isfinite(block)):
                raise ValueError("the audio contains NaN or infinite samples; clean or re-decode the audio")
            yield block


def _rewind(source: str | Path | BinaryIO) -> str | BinaryIO:
    if isinstance(source, (str, Path)):
        return str(source)
    source.seek(0)
    return source


def _frame_samples(frame: av.AudioFrame) -> np.ndarray:
    data = frame.to_ndarray()
    return data.reshape(-1, frame.samples) if frame.format.is_planar else data.reshape(frame.samples, -1).T


class FileSound:
    """The first audio stream of a media file (path or file object), decoded a block at a time."""

    def __init__(self, source: str | Path | BinaryIO):
        self.source = source
        with av.open(_rewind(source)) as container:
            if not container.streams.audio:
                raise ValueError(f"{self.name} has no audio stream")
            stream = container.streams.audio[0]
            self.rate = int(stream.rate)
            channels = int(stream.channels)
            self.num_samples = sum(frame.samples for frame in container.decode(stream))
        self.channels = channels if channels <= MAX_CHANNELS else 1
        if self.num_samples == 0:
            raise ValueError(f"{self.name} has an audio stream with 0 samples")

    @property
    def name(self) -> str:
        return f"'{self.source}'" if isinstance(self.source, (str, Path)) else "the video"

    def blocks(self) -> Iterator[np.ndarray]:
        with av.open(_rewind(self.source)) as container:
            for frame in container.decode(container.streams.audio[0]):
                yield _mono_or_stereo(_as_float(_frame_samples(frame)))


def file_sound(source: str | Path | BinaryIO) -> FileSound | None:
    """The file's soundtrack, or None when it has no audio stream or no samples."""
    try:
        return FileSound(source)
    except ValueError:
        return None


@dataclass(frozen=True)
class LaterSound:
    """A sound source from sample `skip` on (the sound of a clip that starts later in the video)."""

    sound: SoundSource
    skip: int

    @property
    def rate(self) -> int:
        return self.sound.rate

    @property
    def channels(self) -> int:
        return self.sound.channels

    @property
    def num_samples(self) -> int:
        return max(self.sound.num_samples - self.skip, 0)

    def blocks(self) -> Iterator[np.ndarray]:
        skipped = 0
        for block in self.sound.blocks():
            if skipped + block.shape[1] <= self.skip:
                skipped += block.shape[1]
                continue
            yield block[:, max(self.skip - skipped, 0) :]
            skipped = self.skip


def sound_from(sound: SoundSource, seconds: float) -> SoundSource:
    """The part of `sound` after `seconds` (the sound itself when that is 0)."""
    skip = round(seconds * sound.rate)
    return sound if skip <= 0 else LaterSound(sound, skip)
