"""Decoding video files frame by frame (PyAV), so long videos never sit in memory at full resolution.

A video is a path or an open binary file (ComfyUI's VIDEO hands either); files are rewound before
every pass.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import av
import numpy as np

from ..io.sound import file_sound

VideoFile = str | Path | BinaryIO


class NoVideoStreamError(ValueError):
    """A file given as a video has no picture frames."""


def video_name(video: VideoFile) -> str:
    return f"'{video}'" if isinstance(video, (str, Path)) else "the video"


def _open(video: VideoFile) -> av.container.InputContainer:
    if isinstance(video, (str, Path)):
        if not Path(video).is_file():
            raise FileNotFoundError(f"video '{video}' does not exist")
        container = _opened(video, lambda: av.open(str(video)))
    else:
        video.seek(0)
        container = _opened(video, lambda: av.open(video))
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        container.close()
        raise NoVideoStreamError(
            f"{video_name(video)} has no video stream (it holds {', '.join(kinds)}): give a video file with picture frames "
            f"(for a sound-only file use Load Audio and Audio Flow)"
        )
    return container


def _unreadable(video: VideoFile, error: av.FFmpegError) -> ValueError:
    return ValueError(
        f"{video_name(video)} cannot be read as a video ({error.strerror or error}): the file is damaged, cut off or not a video; "
        f"export it again as an mp4 (H.264)"
    )


def _opened(video: VideoFile, open_container: Callable[[], av.container.InputContainer]) -> av.container.InputContainer:
    try:
        return open_container()
    except av.FFmpegError as error:
        raise _unreadable(video, error) from None


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds: frame count, frame rate (None when the file does not say), size, whether it has sound."""

    frames: int
    fps: Fraction | None
    width: int
    height: int
    has_audio: bool


def probe_video(video: VideoFile) -> VideoInfo:
    """Frame count (from the header, else by counting packets, never by decoding), fps, size and sound of a video."""
    with _open(video) as container:
        stream = container.streams.video[0]
        frames = int(stream.frames or 0)
        if frames <= 0:
            frames = sum(1 for packet in container.demux(stream) if packet.size > 0)
        fps = Fraction(stream.average_rate) if stream.average_rate else None
        return VideoInfo(frames, fps, int(stream.width), int(stream.height), bool(container.streams.audio))


def iter_video_frames(video: VideoFile, max_frames: int | None = None, start: int = 0) -> Iterator[np.ndarray]:
    """HxWx3 uint8 RGB frames of a video, in order, from frame `start` (the first `max_frames` of them, when given)."""
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None; got {max_frames}")
    if start < 0:
        raise ValueError(f"the first frame must be >= 0; got {start}")
    with _open(video) as container:
        produced = 0
        try:
            for index, frame in enumerate(container.decode(video=0)):
                if index < start:
                    continue
                if max_frames is not None and produced >= max_frames:
                    return
                produced += 1
                yield frame.to_ndarray(format="rgb24")
        except av.FFmpegError as error:
            raise _unreadable(video, error) from None
    if produced == 0 and start == 0:
        raise ValueError(f"{video_name(video)} has no picture frames: give a video with at least one frame")


def iter_video_chunks(video: VideoFile, chunk: int, start: int = 0, count: int | None = None) -> Iterator[np.ndarray]:
    """(B, H, W, 3) uint8 chunks of at most `chunk` frames, from frame `start` (`count` frames, or to the end)."""
    if chunk < 1:
        raise ValueError(f"chunk size must be at least 1; got {chunk}")
    batch: list[np.ndarray] = []
    for frame in iter_video_frames(video, count, start):
        batch.append(frame)
        if len(batch) == chunk:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def video_fps(video: VideoFile) -> float:
    """Average frame rate of the first video stream."""
    with _open(video) as container:
        return float(container.streams.video[0].average_rate)


def file_digest(video: VideoFile, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    if isinstance(video, (str, Path)):
        with open(video, "rb") as f:
            while block := f.read(chunk):
                digest.update(block)
        return digest.hexdigest()
    video.seek(0)
    while block := video.read(chunk):
        digest.update(block)
    return digest.hexdigest()


def read_soundtrack(path: VideoFile) -> tuple[np.ndarray, int] | None:
    """(channels, samples) float32 audio in [-1, 1] of the first audio stream and its rate, or None without one."""
    sound = file_sound(path)
    if sound is None:
        return None
    return np.concatenate(list(sound.blocks()), axis=1), sound.rate
