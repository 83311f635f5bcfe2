"""ComfyUI's core VIDEO socket as the pack reads it: a file to decode chunk by chunk, its frame rate, and IMAGE batches checked on entry."""

from __future__ import annotations

import hashlib
from typing import Any, Iterator

import numpy as np
import psutil
import torch

from ..styleheat_core.pipeline.image_format import image_to_uint8
from ..styleheat_core.preprocess.video_io import VideoFile, probe_video


def video_file(video: Any) -> VideoFile:
    """The file behind a core VIDEO (a path, or an in-memory file for videos built from images)."""
    if not hasattr(video, "get_stream_source"):
        raise ValueError(f"expected a VIDEO (e.g. from Load Video); got {type(video).__name__}")
    return video.get_stream_source()


def video_fps(source: VideoFile) -> float | None:
    """The video file's frame rate, or None when it does not say (an error names a file without a video stream)."""
    rate = probe_video(source).fps
    return float(rate) if rate and rate > 0 else None


def one_of(image: torch.Tensor | None, video: Any, image_name: str, video_name: str, node: str) -> None:
    """Exactly one of the IMAGE and VIDEO alternatives of an input must be connected."""
    if (image is None) == (video is None):
        state = "both are connected" if image is not None else "neither is connected"
        raise ValueError(f"{node} takes the frames from '{video_name}' (a VIDEO, e.g. Load Video) or from '{image_name}' (an IMAGE batch); {state}")


def checked_frames(frames: torch.Tensor, name: str, node: str) -> torch.Tensor:
    """An IMAGE batch with at least one frame, or an error that says what to connect."""
    if frames.dim() != 4 or frames.shape[0] == 0 or frames.shape[-1] not in (3, 4) or min(frames.shape[1:3]) == 0:
        raise ValueError(
            f"{node}: '{name}' holds no frames (shape {tuple(frames.shape)}); a file without a video stream decodes to nothing. "
            f"Connect a video with picture frames (Load Video to the VIDEO input, or its frames to '{name}')"
        )
    return frames


def uint8_frames(frames: torch.Tensor, on_frame=None) -> Iterator[np.ndarray]:
    """An IMAGE batch as HxWx3 uint8 frames, converted one at a time; `on_frame(done, total)` follows (and may cancel)."""
    for index in range(frames.shape[0]):
        yield image_to_uint8(frames[index : index + 1])[0]
        if on_frame is not None:
            on_frame(index + 1, frames.shape[0])


def image_digest(frames: torch.Tensor) -> str:
    """SHA-256 of an IMAGE batch (shape, dtype, values), hashed frame by frame without a copy of the batch."""
    digest = hashlib.sha256(f"{tuple(frames.shape)}:{frames.dtype}".encode())
    for frame in frames:
        digest.update(memoryview(frame.contiguous().cpu().numpy()).cast("B"))
    return digest.hexdigest()


def free_memory() -> int:
    """Bytes of CPU memory free for outputs (what ComfyUI's get_free_memory reports for the CPU, too)."""
    return int(psutil.virtual_memory().available)
