"""Driving video -> 73-d motion vectors: crop, 68 landmarks, Deep3D, then the user's options; cached per video.

Options: expression-only (pose, translation and crop from the source), relative motion (the
driving change since a reference frame added to the source's vector) and temporal smoothing.
The cache holds the extraction only; the options are re-applied on every call (they are cheap).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch import nn

from .coefficients import Deep3DCoefficients, coefficients_from_frames
from .deep3d_align import FRAME_SIZE
from .ffhq_align import AlignTransform
from .landmarks import LandmarkBackend, default_backend
from .motion_cache import array_digest, cache_key, load_entry, model_fingerprint, save_entry
from .semantics import SEMANTIC_DIM, expression_only, semantic_windows
from .temporal import kernel_radius, smooth_sequence
from .video_crop import CropOptions, crop_video
from .video_io import file_digest, iter_video_frames


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


def _open_video(video: str | Path | np.ndarray | Iterable[np.ndarray], max_frames: int | None) -> tuple[Iterable[np.ndarray], str | None]:
    """Frames to read, and a content hash when the input can be hashed before reading (file or array)."""
    if isinstance(video, (str, Path)):
        return iter_video_frames(video, max_frames), file_digest(video)
    if isinstance(video, np.ndarray):
        frames = video if max_frames is None else video[:max_frames]
        return frames, array_digest(frames)
    return video, None


def extract_video_motion(
    video: str | Path | np.ndarray | Iterable[np.ndarray],
    net: nn.Module,
    lm3d_5: np.ndarray,
    source: torch.Tensor | None = None,
    crop: CropOptions = CropOptions(),
    options: MotionOptions = MotionOptions(),
    backend: LandmarkBackend | None = None,
    cache_dir: str | Path | None = None,
    max_frames: int | None = None,
    batch_size: int = 20,
) -> VideoMotion:
    """73-d motion of a driving video (file path, (N,H,W,3) array or iterable of frames).

    With cache_dir, a file or array input is looked up by the hash of its content, the crop options,
    max_frames, the landmark backend, the network's weights and lm3d_5; iterables are never cached.
    """
    if crop.size != FRAME_SIZE:
        raise ValueError(f"3DMM extraction crops at {FRAME_SIZE}² as official; got CropOptions(size={crop.size})")
    backend = backend or default_backend()
    frames, content = _open_video(video, max_frames)
    settings = {"crop": asdict(crop), "max_frames": max_frames, "landmarks": backend.identity}
    path = None
    if cache_dir is not None and content is not None:
        path = Path(cache_dir) / f"{cache_key(content, settings, model_fingerprint(net), lm3d_5)}.safetensors"
    entry = load_entry(path) if path else None
    from_cache = entry is not None
    if entry is None:
        cropped = crop_video(frames, crop, backend)
        coefficients = coefficients_from_frames(cropped.crops, cropped.landmarks, net, lm3d_5, batch_size)
        entry = {
            "coeff257": coefficients.coeff257,
            "trans_params": coefficients.trans_params,
            "source_landmarks": torch.from_numpy(cropped.source_landmarks),
            "crop_landmarks": torch.from_numpy(cropped.landmarks),
            "quads": torch.from_numpy(cropped.quads),
            "detected": torch.from_numpy(cropped.detected.astype(np.uint8)),
        }
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
