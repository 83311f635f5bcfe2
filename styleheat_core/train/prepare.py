"""Training data from a folder of talking-head videos: crops, 68 landmarks, 73-d 3DMM semantics, FFHQ-aligned copies, mel.

Layout in: <videos>/<identity>/.../<clip>.<ext> (VoxCeleb/HDTF style: the first folder is the identity).
Per video, as the paper: one fixed square crop (the official Croper: from the first frame's landmarks)
at 256 (stage 1) or 512 (stage 2); landmarks in that crop's pixels; Deep3D semantics from the crop at
256; for stage 2 a per-frame FFHQ-aligned copy (quads smoothed over time), the inversion's input; and
the soundtrack's mel spectrogram when the video has one (audio stage). The split is by identity.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..audio.frames import mel_frames
from ..audio.waveform import speech_16k
from ..preprocess.coefficients import coefficients_from_frames
from ..preprocess.deep3d_align import FRAME_SIZE
from ..preprocess.ffhq_align import AlignTransform, ffhq_quad_params, quad_from_params, warp_to_aligned
from ..preprocess.landmarks import LandmarkBackend
from ..preprocess.temporal import smooth_sequence
from ..preprocess.video_crop import CropOptions, crop_video
from ..preprocess.video_io import iter_video_frames, read_soundtrack, video_fps
from .shards import SHARD_DIR, Manifest, VideoRecord, write_shard

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")
# (N, 256, 256, 3) uint8 crops + (N, 68, 2) landmarks in their pixels -> (N, 73) semantics.
CoefficientFn = Callable[[np.ndarray, np.ndarray], torch.Tensor]


@dataclass(frozen=True)
class PrepareOptions:
    """size: crop side (256 stage 1, 512 stage 2); aligned: also store FFHQ-aligned copies (default: size >= 512);
    align_smoothing: Gaussian sigma (frames) of the aligned quads; on_missing: frames without a face ('carry_last' or 'error')."""

    size: int = 256
    aligned: bool | None = None
    test_fraction: float = 0.1
    max_frames: int | None = None
    min_frames: int = 2
    align_smoothing: float = 2.0
    on_missing: str = "carry_last"
    retry_failed: bool = False

    @property
    def with_aligned(self) -> bool:
        return self.size >= 512 if self.aligned is None else self.aligned

    def settings(self) -> dict:
        """What a resumed run must share with the first one."""
        return {"size": self.size, "aligned": self.with_aligned, "max_frames": self.max_frames, "align_smoothing": self.align_smoothing}


def deep3d_coefficients(net: nn.Module, lm3d_5: np.ndarray, batch_size: int = 20) -> CoefficientFn:
    """The real extractor: Deep3D coefficients of the 256² crops -> 73-d semantics."""
    return lambda frames, landmarks: coefficients_from_frames(frames, landmarks, net, lm3d_5, batch_size).semantics


def find_videos(root: Path) -> dict[str, tuple[str, Path]]:
    """{video id: (identity, path)}; the id is the relative path without suffix, '/' replaced by '#' (official naming)."""
    found = {}
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()):
        relative = path.relative_to(root)
        if len(relative.parts) < 2:
            raise ValueError(f"{path} is not inside an identity folder: lay videos out as <videos>/<identity>/<clip>")
        found["#".join(relative.with_suffix("").parts)] = (relative.parts[0], path)
    return found


def test_identities(identities: set[str], fraction: float) -> set[str]:
    """A stable test set: identities ordered by hash, the first ceil(fraction * n) (at least one when n >= 2)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"test fraction must be in [0, 1); got {fraction}")
    ordered = sorted(identities, key=lambda name: hashlib.sha1(name.encode()).hexdigest())
    count = math.ceil(fraction * len(ordered)) if fraction else 0
    return set(ordered[: max(count, 1 if fraction and len(ordered) >= 2 else 0)])


def aligned_copies(path: Path, source_landmarks: np.ndarray, options: PrepareOptions) -> np.ndarray:
    """Per-frame FFHQ-aligned size² copies (second decode pass, from the landmarks already found)."""
    params = smooth_sequence(np.stack([ffhq_quad_params(points) for points in source_landmarks]), options.align_smoothing)
    frames = iter_video_frames(path, len(source_landmarks))
    return np.stack([warp_to_aligned(frame, AlignTransform(quad_from_params(p), options.size)) for frame, p in zip(frames, params)])


def prepare_video(path: Path, options: PrepareOptions, backend: LandmarkBackend | None, coefficients: CoefficientFn) -> tuple[dict, dict, dict]:
    """One video -> (images, arrays, metadata) for its shard."""
    cropped = crop_video(iter_video_frames(path, options.max_frames), CropOptions("fixed", options.size, on_missing=options.on_missing), backend)
    count = len(cropped.crops)
    if count < options.min_frames:
        raise ValueError(f"only {count} frame(s); at least {options.min_frames} are needed for source/driving pairs")
    small, scale = cropped.crops, FRAME_SIZE / options.size
    if options.size != FRAME_SIZE:
        small = np.stack([cv2.resize(c, (FRAME_SIZE, FRAME_SIZE), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC) for c in cropped.crops])
    semantics = torch.as_tensor(coefficients(small, cropped.landmarks * scale), dtype=torch.float32)
    if semantics.shape != (count, 73) or not torch.isfinite(semantics).all():
        raise ValueError(f"the coefficient extractor returned {tuple(semantics.shape)} values (finite: {bool(torch.isfinite(semantics).all())}); expected ({count}, 73)")
    images = {"frames": cropped.crops}
    if options.with_aligned:
        images["aligned"] = aligned_copies(path, cropped.source_landmarks, options)
    arrays = {
        "semantics": semantics,
        "landmarks": torch.from_numpy(cropped.landmarks.astype(np.float32)),
        "detected": torch.from_numpy(cropped.detected.astype(np.uint8)),
    }
    fps = video_fps(path)
    sound = read_soundtrack(path)
    if sound is not None:
        arrays["mel"] = torch.from_numpy(mel_frames(speech_16k(sound[0], sound[1]), fps).mel)
    return images, arrays, {"fps": repr(fps), "size": str(options.size), "frames": str(count)}


def prepare_dataset(
    videos: str | Path,
    out: str | Path,
    coefficients: CoefficientFn,
    options: PrepareOptions = PrepareOptions(),
    backend: LandmarkBackend | None = None,
    progress: bool = True,
) -> Manifest:
    """Prepare every video under `videos` into `out` (shards + manifest); finished videos are skipped on a rerun.

    A video that fails (unreadable, no face, too short, bad coefficients) is recorded as failed with its
    reason and skipped; `retry_failed` tries those again.
    """
    videos, out = Path(videos), Path(out)
    if not videos.is_dir():
        raise FileNotFoundError(f"video folder {videos} does not exist")
    found = find_videos(videos)
    if not found:
        raise ValueError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) under {videos}")
    (out / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    manifest = Manifest.load(out) if (out / "manifest.json").is_file() else Manifest(options.settings())
    if manifest.settings != options.settings():
        raise ValueError(f"{out} was prepared with {manifest.settings}; these options give {options.settings()}: use another folder")
    test = test_identities({identity for identity, _ in found.values()}, options.test_fraction)
    bar = tqdm(sorted(found.items()), desc="preparing", unit="video", disable=not progress, file=sys.stderr)
    for video_id, (identity, path) in bar:
        record = manifest.videos.get(video_id)
        shard = f"{SHARD_DIR}/{video_id}.safetensors"
        if record and (record.status == "ok" and (out / shard).is_file() or record.status == "failed" and not options.retry_failed):
            continue
        split = "test" if identity in test else "train"
        bar.set_postfix_str(video_id)
        started = time.perf_counter()
        try:
            images, arrays, metadata = prepare_video(path, options, backend, coefficients)
            write_shard(out / shard, images, arrays, metadata)
            manifest.videos[video_id] = VideoRecord(str(path), identity, split, "ok", int(arrays["semantics"].shape[0]), shard)
        except Exception as error:  # noqa: BLE001 - any failure of one video is recorded, never fatal
            reason = f"{type(error).__name__}: {error}".splitlines()[0][:300]
            manifest.videos[video_id] = VideoRecord(str(path), identity, split, "failed", reason=reason)
            tqdm.write(f"skipped {video_id}: {reason}", file=sys.stderr)
        manifest.save(out)
        if progress:
            tqdm.write(f"{video_id}: {manifest.videos[video_id].status} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    manifest.save(out)
    return manifest


def summary(manifest: Manifest) -> str:
    """One line per split and the failures with their reasons."""
    lines = []
    for split in ("train", "test"):
        ready = manifest.ready(split)
        lines.append(f"{split}: {len(ready)} videos, {sum(v.frames for v in ready.values())} frames, {len({v.identity for v in ready.values()})} identities")
    failed = {k: v for k, v in manifest.videos.items() if v.status == "failed"}
    lines += [f"failed {k}: {v.reason}" for k, v in sorted(failed.items())]
    return "\n".join(lines)

