"""Streaming video files with PyAV: frames are encoded as they arrive, the sound is muxed alongside.

The file is written under a temporary name beside the final one (`<name>.partial.<ext>`) and renamed
only when complete, so a cancelled or failed render never leaves a truncated file under the final
name. The soundtrack is trimmed or padded with silence to the exact video duration (frames / fps).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Mapping

import av
import numpy as np

from .sound import SoundSource

MAX_FPS = 240.0
# AAC sample rates; other rates are resampled to 48 kHz by the encoder.
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
AAC_FALLBACK_RATE = 48000
# Audio may end this much before the video (rounding, encoder delays) and is padded with silence; shorter is an error.
SOUND_SHORTFALL_FRAMES = 2
SOUND_SHORTFALL_SECONDS = 0.2


@dataclass(frozen=True)
class VideoCodec:
    """An encoder choice: PyAV encoder name, pixel format, and whether `crf` applies."""

    encoder: str
    pix_fmt: str
    uses_crf: bool
    description: str

    def options(self, crf: int) -> dict[str, str]:
        if self.uses_crf:
            return {"crf": str(crf), "preset": "medium"}
        return {"qp": "0", "preset": "medium"}


CODECS = {
    "h264": VideoCodec("libx264", "yuv420p", True, "H.264 yuv420p (plays everywhere; quality set by crf)"),
    "h264 lossless": VideoCodec("libx264rgb", "rgb24", False, "H.264 RGB, lossless (exact pixels; large files, not every player)"),
}
CONTAINER = "mp4"


class OutputError(OSError):
    """The output file cannot be written where asked."""


@dataclass(frozen=True)
class VideoFormat:
    """Codec (a key of CODECS) and constant rate factor (0 = best, 51 = smallest; ignored by lossless codecs)."""

    codec: str = "h264"
    crf: int = 18

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise ValueError(f"unknown codec '{self.codec}'; choose one of {list(CODECS)}")
        if isinstance(self.crf, bool) or not isinstance(self.crf, int) or not 0 <= self.crf <= 51:
            raise ValueError(f"quality (crf) must be an integer from 0 (best) to 51 (smallest); got {self.crf!r}")

    @property
    def spec(self) -> VideoCodec:
        return CODECS[self.codec]


def frame_rate(fps: float) -> Fraction:
    """fps as an exact fraction (29.97002997 -> 30000/1001), checked to be a usable frame rate."""
    if not isinstance(fps, (int, float, Fraction)) or not math.isfinite(float(fps)) or not 0 < float(fps) <= MAX_FPS:
        raise ValueError(f"fps must be a number in (0, {MAX_FPS:g}]; got {fps!r}")
    return Fraction(fps).limit_denominator(1001)


def partial_path(path: Path) -> Path:
    """Where a file is written before it is complete."""
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def check_sound_covers(sound: SoundSource, frames: int, fps: float, what: str = "the audio") -> None:
    """Raise when the sound ends clearly before `frames` frames at `fps` (more than the padding allowance)."""
    video_seconds = frames / float(fps)
    sound_seconds = sound.num_samples / sound.rate
    allowance = max(SOUND_SHORTFALL_FRAMES / float(fps), SOUND_SHORTFALL_SECONDS)
    if sound_seconds + allowance < video_seconds:
        covered = math.floor(sound_seconds * float(fps))
        raise ValueError(
            f"{what} lasts {sound_seconds:.2f} s but the video is {video_seconds:.2f} s ({frames} frames at {float(fps):g} fps): "
            f"connect audio that covers the video, render at most {covered} frames (frame_count), or leave the audio out for a silent video"
        )


def open_output(path: Path, metadata: Mapping[str, str] | None = None) -> av.container.OutputContainer:
    """The temporary file of `path`, opened for writing; the error names the folder when it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(partial_path(path)), mode="w", format=CONTAINER, options={"movflags": "use_metadata_tags"})
    except OSError as error:
        raise OutputError(f"cannot write the video into {path.parent} ({error.strerror or error}); choose an output folder you can write to") from error
    for key, value in (metadata or {}).items():
        container.metadata[key] = value
    return container


def finish_output(container: av.container.OutputContainer, path: Path) -> Path:
    """Close the temporary file and move it to its final name."""
    container.close()
    os.replace(partial_path(path), path)
    return path


def discard_output(container: av.container.OutputContainer, path: Path) -> None:
    """Close and delete the temporary file (cancel or error)."""
    try:
        container.close()
    except (OSError, ValueError, av.error.FFmpegError):
        pass
    partial_path(path).unlink(missing_ok=True)


class SoundMuxer:
    """Encodes a sound source into a container's AAC stream, kept level with the video as frames are written."""

    def __init__(self, container: av.container.OutputContainer, sound: SoundSource, fps: Fraction):
        self.container, self.sound, self.fps = container, sound, fps
        self.stream = container.add_stream("aac", rate=sound.rate if sound.rate in AAC_RATES else AAC_FALLBACK_RATE)
        self.stream.layout = "mono" if sound.channels == 1 else "stereo"
        self.layout = self.stream.layout.name
        self._blocks: Iterator[np.ndarray] | None = sound.blocks()
        self._pending = np.zeros((sound.channels, 0), dtype=np.float32)
        self.written = 0

    def _samples_for(self, frames: int) -> int:
        return round(frames * self.sound.rate / self.fps)

    def _take(self, count: int) -> np.ndarray:
        """The next `count` samples of the source, padded with silence after its end."""
        while self._pending.shape[1] < count and self._blocks is not None:
            block = next(self._blocks, None)
            if block is None:
                self._blocks = None
            else:
                self._pending = np.concatenate([self._pending, block], axis=1)
        taken = self._pending[:, :count]
        self._pending = self._pending[:, count:]
        if taken.shape[1] < count:
            taken = np.concatenate([taken, np.zeros((taken.shape[0], count - taken.shape[1]), dtype=np.float32)], axis=1)
        return taken

    def follow(self, frames: int) -> None:
        """Encode the sound up to the end of video frame `frames`."""
        count = self._samples_for(frames) - self.written
        if count <= 0:
            return
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(self._take(count)), format="fltp", layout=self.layout)
        frame.sample_rate = self.sound.rate
        frame.pts = self.written
        frame.time_base = Fraction(1, self.sound.rate)
        self.written += count
        self.container.mux(self.stream.encode(frame))

    def finish(self, frames: int) -> None:
        """The rest of the sound up to exactly `frames` frames, then flush the encoder."""
        self.follow(frames)
        self.container.mux(self.stream.encode(None))


class VideoWriter:
    """Encode uint8 RGB frames (B, H, W, 3) chunk by chunk into an mp4, with an optional soundtrack.

    Use as a context manager: leaving it normally finishes the file (sound trimmed or padded to the
    video's duration) and renames it into place; leaving it with an exception deletes the partial file.
    """

    def __init__(self, path: str | Path, fps: float, video_format: VideoFormat = VideoFormat(), sound: SoundSource | None = None, metadata: Mapping[str, str] | None = None):
        self.path = Path(path)
        self.rate = frame_rate(fps)
        self.format = video_format
        self.sound = sound
        self.container = open_output(self.path, metadata)
        self.stream: av.VideoStream | None = None
        self.sound_muxer: SoundMuxer | None = None
        self.frames = 0
        self.size: tuple[int, int] | None = None

    def _open_streams(self, height: int, width: int) -> None:
        spec = self.format.spec
        self.size = (height, width)
        self.stream = self.container.add_stream(spec.encoder, rate=self.rate, options=spec.options(self.format.crf))
        self.stream.pix_fmt = spec.pix_fmt
        padded = even_size(height, width) if spec.pix_fmt == "yuv420p" else (height, width)
        self.stream.height, self.stream.width = padded
        if self.sound is not None:
            self.sound_muxer = SoundMuxer(self.container, self.sound, self.rate)

    def write(self, frames: np.ndarray) -> None:
        """Append (B, H, W, 3) uint8 RGB frames."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"video frames must be uint8 RGB (B, H, W, 3); got {frames.dtype} {frames.shape}")
        if self.stream is None:
            self._open_streams(*frames.shape[1:3])
        if frames.shape[1:3] != self.size:
            raise ValueError(f"every frame of a video must have the same size; got {frames.shape[2]}x{frames.shape[1]} after {self.size[1]}x{self.size[0]}")
        for image in frames:
            frame = av.VideoFrame.from_ndarray(pad_to(image, self.stream.height, self.stream.width), format="rgb24")
            frame.pts = self.frames
            frame.time_base = 1 / self.rate
            self.container.mux(self.stream.encode(frame))
            self.frames += 1
        if self.sound_muxer is not None:
            self.sound_muxer.follow(self.frames)

    def close(self) -> Path:
        """Flush the encoders, finish the sound, and move the file to its final name."""
        if self.stream is None:
            raise ValueError("no frames were written: a video needs at least one frame")
        self.container.mux(self.stream.encode(None))
        if self.sound_muxer is not None:
            self.sound_muxer.finish(self.frames)
        return finish_output(self.container, self.path)

    def abort(self) -> None:
        discard_output(self.container, self.path)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None:
            self.abort()
            return
        try:
            self.close()
        except BaseException:
            self.abort()
            raise


def even_size(height: int, width: int) -> tuple[int, int]:
    """yuv420p needs even sides: odd ones grow by one pixel."""
    return height + height % 2, width + width % 2


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """An HxWx3 image grown to height x width by repeating its last row / column."""
    if image.shape[:2] == (height, width):
        return image
    return np.pad(image, ((0, height - image.shape[0]), (0, width - image.shape[1]), (0, 0)), mode="edge")
