"""Driving-video crops with the FFHQ recipe: "fixed" (official: one square from the first frame) or
"tracked" (a square per frame from that frame's landmarks, Gaussian-smoothed over time).

Frames stream through: only the frames that still wait for future landmarks (the smoothing
radius) are held at full resolution; the crops themselves are small.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .ffhq_align import AlignTransform, ffhq_quad_params, quad_from_params, warp_to_aligned
from .landmarks import LandmarkBackend, TrackedFrame, iter_landmarks
from .temporal import kernel_radius, smooth_sequence

CROP_MODES = ("fixed", "tracked")
CROP_SIZE = 256


@dataclass
class VideoCrop:
    """Per-frame crops (N, size, size, 3) uint8, their transforms, and landmarks in source and crop pixels."""

    crops: np.ndarray
    transforms: list[AlignTransform]
    source_landmarks: np.ndarray
    landmarks: np.ndarray
    detected: np.ndarray
    mode: str

    @property
    def quads(self) -> np.ndarray:
        """(N, 4, 2) crop squares in source pixels."""
        return np.stack([t.quad for t in self.transforms])


@dataclass(frozen=True)
class CropOptions:
    """How the driving video is cropped. smoothing = Gaussian sigma in frames for the tracked square."""

    mode: str = "fixed"
    size: int = CROP_SIZE
    smoothing: float = 2.0
    face_index: int = 0
    on_missing: str = "error"

    def __post_init__(self):
        if self.mode not in CROP_MODES:
            raise ValueError(f"crop mode must be one of {CROP_MODES}; got '{self.mode}'")
        if self.size < 16:
            raise ValueError(f"crop size must be >= 16 pixels; got {self.size}")
        kernel_radius(self.smoothing)


def _frame_params(tracked: list[TrackedFrame], index: int, options: CropOptions, finished: bool) -> np.ndarray | None:
    """The crop square parameters of frame `index`, or None while they still need later frames."""
    if options.mode == "fixed":
        return ffhq_quad_params(tracked[0].points)
    radius = kernel_radius(options.smoothing)
    if not finished and index + radius >= len(tracked):
        return None
    start = max(0, index - radius)
    window = np.stack([ffhq_quad_params(t.points) for t in tracked[start : index + radius + 1]])
    return smooth_sequence(window, options.smoothing)[index - start]


@dataclass(frozen=True)
class CroppedFrame:
    """One cropped frame: the crop (size, size, 3) uint8, its transform, landmarks in source and crop pixels, detected or carried."""

    crop: np.ndarray
    transform: AlignTransform
    source_landmarks: np.ndarray
    landmarks: np.ndarray
    detected: bool


def iter_crops(
    frames: Iterable[np.ndarray], options: CropOptions = CropOptions(), backend: LandmarkBackend | None = None
) -> Iterator[CroppedFrame]:
    """Crop every frame (numpy (N,H,W,3) or any iterable of frames) around the face, yielding each crop as soon as it is known."""
    tracked: list[TrackedFrame] = []
    waiting: deque[TrackedFrame] = deque()

    def ready(finished: bool) -> Iterator[CroppedFrame]:
        while waiting:
            params = _frame_params(tracked, waiting[0].index, options, finished)
            if params is None:
                return
            frame = waiting.popleft()
            transform = AlignTransform(quad_from_params(params), options.size)
            tracked[frame.index] = TrackedFrame(frame.index, np.empty(0), frame.points, frame.detected)
            crop = warp_to_aligned(frame.image, transform, border="constant")
            yield CroppedFrame(crop, transform, frame.points, transform.to_aligned(frame.points), frame.detected)

    for frame in iter_landmarks(frames, backend, options.face_index, options.on_missing):
        tracked.append(frame)
        waiting.append(frame)
        yield from ready(finished=False)
    yield from ready(finished=True)


def crop_video(
    frames: Iterable[np.ndarray], options: CropOptions = CropOptions(), backend: LandmarkBackend | None = None
) -> VideoCrop:
    """Crop every frame (numpy (N,H,W,3) or any iterable of frames) around the face, all crops in one array."""
    cropped = list(iter_crops(frames, options, backend))
    return VideoCrop(
        np.stack([c.crop for c in cropped]),
        [c.transform for c in cropped],
        np.stack([c.source_landmarks for c in cropped]),
        np.stack([c.landmarks for c in cropped]),
        np.array([c.detected for c in cropped]),
        options.mode,
    )
