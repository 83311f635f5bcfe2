"""Decoding video files frame by frame (PyAV), so long videos never sit in memory at full resolution."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import av
import numpy as np


def iter_video_frames(path: str | Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """HxWx3 uint8 RGB frames of a video file, in order (the first `max_frames` only, when given)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"video '{path}' does not exist")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None; got {max_frames}")
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"'{path}' has no video stream")
        for index, frame in enumerate(container.decode(video=0)):
            if max_frames is not None and index >= max_frames:
                return
            yield frame.to_ndarray(format="rgb24")


def video_fps(path: str | Path) -> float:
    """Average frame rate of the first video stream."""
    with av.open(str(path)) as container:
        return float(container.streams.video[0].average_rate)


def file_digest(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_soundtrack(path: Path) -> tuple[np.ndarray, int] | None:
    """(channels, samples) float32 audio in [-1, 1] of the first audio stream and its rate, or None without one."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        chunks, rate = [], None
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            data = frame.to_ndarray()
            chunks.append(data.reshape(-1, frame.samples) if frame.format.is_planar else data.reshape(frame.samples, -1).T)
    if not chunks:
        return None
    samples = np.concatenate(chunks, axis=1)
    if np.issubdtype(samples.dtype, np.integer):
        samples = samples / float(np.iinfo(samples.dtype).max + 1)
    return samples.astype(np.float32), rate
