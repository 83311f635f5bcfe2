"""Driving video -> 73-d motion vectors: crop, 68 landmarks, Deep3D, then the user's options; cached per video.

Options: expression-only (pose, translation and crop from the source), relative motion (the
driving change since a reference frame added to the source's vector) and temporal smoothing.
The cache holds the extraction only; the options are re-applied on every call (they are cheap).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from ..allocator import freed_memory_reused
from .coefficients import Deep3DCoefficients, coefficients_from_frames
from .deep3d_align import FRAME_SIZE
from .ffhq_align import AlignTransform
from .landmarks import LandmarkBackend, default_backend
from .motion_cache import array_digest, cache_key, load_entry, model_fingerprint, save_entry
from .semantics import SEMANTIC_DIM, expression_only, semantic_windows
from .temporal import kernel_radius, smooth_sequence
from .video_crop import CropOptions, CroppedFrame, iter_crops
from .video_io import VideoFile, file_digest, iter_video_frames, probe_video

# (frames done, total or None) -> None; may raise to cancel.
ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class MotionOptions:
    """expression_only: keep only the driving expression; relative: add driving deltas (vs reference_frame)
    to the source vector; smoothing: Gaussian sigma in frames over the vectors (0 = off, official)."""

    expression_only: bool = False
    relative: bool = False
    smoothing: float = 0.0
    reference_frame: int = 0

    def __post_init__(self):
        kernel_radius(self.smoothing)


@dataclass
class VideoMotion:
    """Everything extracted from a driving video, and the (N, 73) vectors after the options."""

    coefficients: Deep3DCoefficients
    semantics: torch.Tensor
    source_landmarks: np.ndarray
    crop_landmarks: np.ndarray
    quads: np.ndarray
    detected: np.ndarray
    from_cache: bool
    cache_path: Path | None

    @property
    def transforms(self) -> list[AlignTransform]:
        """Per-frame crop transforms (source video pixels <-> 256² crop pixels)."""
        return [AlignTransform(q, FRAME_SIZE) for q in self.quads]

    def windows(self) -> torch.Tensor:
        """(N, 73, 27) windows for the motion networks."""
        return semantic_windows(self.semantics)


def apply_motion_options(driving: torch.Tensor, options: MotionOptions, source: torch.Tensor | None = None) -> torch.Tensor:
    """Apply smoothing, then relative motion, then expression-only to (N, 73) driving vectors."""
    driving = torch.as_tensor(driving, dtype=torch.float32)
    if (options.relative or options.expression_only) and source is None:
        raise ValueError("relative or expression-only motion needs the source's 73-d vector (portrait_coefficients(...).semantics)")
    result = torch.from_numpy(smooth_sequence(driving.numpy(), options.smoothing)).float()
    if source is not None:
        source = torch.as_tensor(source, dtype=torch.float32).reshape(-1)
        if source.shape[0] != SEMANTIC_DIM:
            raise ValueError(f"the source vector must have {SEMANTIC_DIM} values; got {source.shape[0]}")
    if options.relative:
        if not -len(result) <= options.reference_frame < len(result):
            raise ValueError(f"reference_frame {options.reference_frame} is outside the {len(result)}-frame video")
        result = source + (result - result[options.reference_frame])
    if options.expression_only:
        result = expression_only(result, source)
    return result


def _open_video(video: VideoFile | np.ndarray | Iterable[np.ndarray], max_frames: int | None) -> tuple[Iterable[np.ndarray], str | None, int | None]:
    """Frames to read, a content hash when the input can be hashed before reading (file or array), and the frame count when known."""
    if isinstance(video, (str, Path)) or hasattr(video, "read"):
        info = probe_video(video)
        total = info.frames if max_frames is None else min(info.frames, max_frames)
        return iter_video_frames(video, max_frames), file_digest(video), total
    if isinstance(video, np.ndarray):
        frames = video if max_frames is None else video[:max_frames]
        return frames, array_digest(frames), len(frames)
    return video, None, None


def _extract(frames: Iterable[np.ndarray], net: nn.Module, lm3d_5: np.ndarray, crop: CropOptions, backend: LandmarkBackend, batch_size: int,
             on_progress: ProgressCallback | None, total: int | None) -> dict[str, torch.Tensor]:
    """Crop and run Deep3D a batch at a time: only `batch_size` crops are held, whatever the video length."""
    coeffs, params, source_landmarks, landmarks, quads, detected = [], [], [], [], [], []
    batch: list[CroppedFrame] = []

    def run_batch() -> None:
        found = coefficients_from_frames(np.stack([c.crop for c in batch]), np.stack([c.landmarks for c in batch]), net, lm3d_5, batch_size)
        coeffs.append(found.coeff257)
        params.append(found.trans_params)
        batch.clear()

    for index, cropped in enumerate(iter_crops(frames, crop, backend)):
        batch.append(cropped)
        source_landmarks.append(cropped.source_landmarks)
        landmarks.append(cropped.landmarks)
        quads.append(cropped.transform.quad)
        detected.append(cropped.detected)
        if len(batch) == batch_size:
            run_batch()
        if on_progress is not None:
            on_progress(index + 1, total)
    if batch:
        run_batch()
    return {
        "coeff257": torch.cat(coeffs),
        "trans_params": torch.cat(params),
        "source_landmarks": torch.from_numpy(np.stack(source_landmarks)),
        "crop_landmarks": torch.from_numpy(np.stack(landmarks)),
        "quads": torch.from_numpy(np.stack(quads)),
        "detected": torch.from_numpy(np.array(detected, dtype=np.uint8)),
    }


def extract_video_motion(
    video: VideoFile | np.ndarray | Iterable[np.ndarray],
    net: nn.Module,
    lm3d_5: np.ndarray,
    source: torch.Tensor | None = None,
    crop: CropOptions = CropOptions(),
    options: MotionOptions = MotionOptions(),
    backend: LandmarkBackend | None = None,
    cache_dir: str | Path | None = None,
    max_frames: int | None = None,
    batch_size: int = 20,
    on_progress: ProgressCallback | None = None,
    content_key: str | None = None,
) -> VideoMotion:
    """73-d motion of a driving video (file path or binary file, (N,H,W,3) array or iterable of frames), read frame by frame.

    With cache_dir, a file or array input is looked up by the hash of its content (`content_key` names the
    content of an iterable), the crop options, max_frames, the landmark backend, the network's weights and
    lm3d_5; other iterables are never cached. `on_progress(done, total or None)` follows every frame (it may
    raise to cancel).
    """
    if crop.size != FRAME_SIZE:
        raise ValueError(f"3DMM extraction crops at {FRAME_SIZE}² as official; got CropOptions(size={crop.size})")
    backend = backend or default_backend()
    frames, content, total = _open_video(video, max_frames)
    content = content or content_key
    settings = {"crop": asdict(crop), "max_frames": max_frames, "landmarks": backend.identity}
    path = None
    if cache_dir is not None and content is not None:
        path = Path(cache_dir) / f"{cache_key(content, settings, model_fingerprint(net), lm3d_5)}.safetensors"
    entry = load_entry(path) if path else None
    from_cache = entry is not None
    if entry is None:
        with freed_memory_reused():
            entry = _extract(frames, net, lm3d_5, crop, backend, batch_size, on_progress, total)
        if path:
            save_entry(path, entry, settings)
    coefficients = Deep3DCoefficients(entry["coeff257"], entry["trans_params"])
    return VideoMotion(
        coefficients,
        apply_motion_options(coefficients.semantics, options, source),
        entry["source_landmarks"].numpy(),
        entry["crop_landmarks"].numpy(),
        entry["quads"].numpy(),
        entry["detected"].numpy().astype(bool),
        from_cache,
        path,
    )
