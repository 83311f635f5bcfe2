"""The paper's two protocols over folders of test clips, resumable per clip.

same-id: each clip's first frame is the source portrait and the clip drives it; the generated frames
are compared with the real ones (both cropped with the official fixed FFHQ crop at the evaluation
size). cross-id: video k drives portrait k mod P (sorted names); generated frames are compared with
the driving frames (FID, AED, APD) and with the aligned portrait (CSIM).

Only `render_clip` (with `load_styleheat_models`) touches the StyleHEAT pipeline: it runs what the
example workflow's nodes run, and is the one place to change when the pipeline API changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..io.layouts import official_file
from ..io.loaders import load_deep3d, load_encoder_networks, load_motion_networks, load_standard_landmarks, load_stylegan
from ..models.stylegan2 import Generator
from ..pipeline.decode import OUTPUT_SIZES, WarpedFeatures, decode_chunks
from ..pipeline.forward import MotionNetworks
from ..pipeline.handles import LocalModel
from ..pipeline.image_format import image_to_network, image_to_uint8, uint8_to_image
from ..pipeline.inversion import EncoderNetworks, invert
from ..pipeline.motion import CoefficientMotion
from ..pipeline.source import SourceLatent
from ..preprocess.ffhq_align import align_portrait
from ..preprocess.images import read_image, to_rgb_uint8
from ..preprocess.motion import extract_video_motion
from ..preprocess.video_crop import CropOptions, crop_video
from .frames import IMAGE_SUFFIXES, EvaluationInputError, read_frames
from .metrics import ClipScorer, ClipScores, pooled
from .networks import MetricNetworks, check_metric_names, load_metric_networks
from .report import Report
from .store import clip_path, load_clip, save_clip

PROTOCOLS = ("same-id", "cross-id")
DEFAULT_METRICS = {"same-id": ("psnr", "ssim", "lpips", "fid", "csim"), "cross-id": ("fid", "csim", "aed", "apd")}
NEEDS_GROUND_TRUTH = ("psnr", "ssim", "lpips")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm")


@dataclass
class StyleHEATModels:
    """The official networks of video reenactment."""

    generator: Generator
    encoders: EncoderNetworks
    motion: MotionNetworks
    deep3d: torch.nn.Module
    lm3d_5: np.ndarray


def load_styleheat_models(model_dir: Path, device: torch.device | str = "cpu") -> StyleHEATModels:
    """The files the video-reenactment workflow loads, from `model_dir` (models/styleheat)."""

    def path(key: str) -> Path:
        return Path(model_dir) / official_file(key).filename

    generator = load_stylegan(path("stylegan"), device)
    return StyleHEATModels(
        generator,
        load_encoder_networks(path("e4e"), path("hfgi"), device),
        load_motion_networks(path("styleheat"), device),
        load_deep3d(path("deep3d"), device),
        load_standard_landmarks(path("bfm_landmarks")),
    )


@dataclass
class RenderedClip:
    """The FFHQ-aligned source (1024² uint8) and the generated frames, (B, size, size, 3) uint8 chunks in order."""

    aligned_source: np.ndarray
    frames: Iterator[np.ndarray]


def render_clip(models: StyleHEATModels, portrait: np.ndarray, driving: np.ndarray, size: int, chunk_size: int, cache_dir: Path | None) -> RenderedClip:
    """The video-reenactment graph in core calls: Face Align, Invert, 3DMM Extract (official fixed crop),
    Video Flow, Warp Features, Calibrate, StyleGAN Decode at `size`."""
    aligned = align_portrait(portrait)
    generator, motion_networks = LocalModel(models.generator), LocalModel(models.motion)
    inversion = invert(models.generator, models.encoders, image_to_network(uint8_to_image(aligned.image[None])))
    latent = SourceLatent(inversion, generator, LocalModel(models.encoders))
    motion = extract_video_motion(driving, models.deep3d, models.lm3d_5, cache_dir=cache_dir)
    features = WarpedFeatures(latent, CoefficientMotion(motion_networks, motion.semantics), motion_networks)
    chunks = decode_chunks(models.generator, features, size, chunk_size)
    return RenderedClip(aligned.image, (image_to_uint8(chunk) for chunk in chunks))


@dataclass(frozen=True)
class Clip:
    """One evaluation unit: a driving video and, for cross-id, the portrait it drives."""

    name: str
    video: Path
    portrait: Path | None = None


def _files(folder: Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    if not Path(folder).is_dir():
        raise EvaluationInputError(f"{what} folder '{folder}' does not exist")
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise EvaluationInputError(f"{what} folder '{folder}' holds no {what} ({', '.join(suffixes)})")
    return files


def same_id_clips(videos: Path) -> list[Clip]:
    """Every video of the folder, in name order."""
    return [Clip(v.stem, v) for v in _files(videos, VIDEO_SUFFIXES, "videos")]


def cross_id_clips(portraits: Path, videos: Path) -> list[Clip]:
    """Video k with portrait k mod P (both in name order)."""
    faces = _files(portraits, tuple(s for s in IMAGE_SUFFIXES if s != ".npy"), "portraits")
    return [Clip(f"{v.stem}__{faces[k % len(faces)].stem}", v, faces[k % len(faces)]) for k, v in enumerate(_files(videos, VIDEO_SUFFIXES, "videos"))]


@dataclass(frozen=True)
class ProtocolSettings:
    """How clips are rendered and scored; part of the resume key."""

    protocol: str
    metrics: tuple[str, ...]
    size: int = 1024
    max_frames: int | None = None
    chunk_size: int = 4

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}; got '{self.protocol}'")
        check_metric_names(self.metrics)
        if self.protocol == "cross-id" and set(self.metrics) & set(NEEDS_GROUND_TRUTH):
            raise ValueError(f"cross-id has no ground truth for {', '.join(NEEDS_GROUND_TRUTH)}; choose from fid, csim, aed, apd")
        if self.size not in OUTPUT_SIZES:
            raise ValueError(f"--size must be one of {OUTPUT_SIZES}; got {self.size}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"--max-frames must be at least 1; got {self.max_frames}")

    def as_dict(self) -> dict:
        return {"protocol": self.protocol, "metrics": list(self.metrics), "size": self.size, "max_frames": self.max_frames}


def score_clip(
    clip: Clip, settings: ProtocolSettings, models: StyleHEATModels, nets: MetricNetworks, cache_dir: Path, device, progress: bool
) -> ClipScores:
    """Render one clip and score its frames against the real (same-id) or driving (cross-id) frames."""
    driving = read_frames(clip.video, settings.max_frames)
    reference = crop_video(driving, CropOptions("fixed", size=settings.size)).crops
    portrait = driving[0] if clip.portrait is None else to_rgb_uint8(read_image(clip.portrait), f"portrait '{clip.portrait}'")
    rendered = render_clip(models, portrait, driving, settings.size, settings.chunk_size, cache_dir)
    identity = reference[0] if clip.portrait is None else rendered.aligned_source
    scorer = ClipScorer(nets, settings.metrics, identity_source=identity, device=device)
    done = 0
    with tqdm(total=len(driving), desc=clip.name, unit="frame", leave=False, disable=not progress) as bar:
        for chunk in rendered.frames:
            scorer.add(chunk, reference[done : done + len(chunk)])
            done += len(chunk)
            bar.update(len(chunk))
    return scorer.result()


def run_protocol(
    settings: ProtocolSettings, clips: list[Clip], model_dir: Path, out_dir: Path, device: torch.device | str = "cpu", progress: bool = True
) -> Report:
    """Score every clip not yet stored in `out_dir` (finished clips are reused), then pool all clips."""
    keys = settings.as_dict()
    names = [clip.name for clip in clips]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise EvaluationInputError(f"clip names repeat ({', '.join(repeated)}); give every video (and portrait) its own file name")
    results: dict[str, ClipScores] = {}
    models = nets = None
    for clip in tqdm(clips, desc=settings.protocol, unit="clip", disable=not progress):
        path = clip_path(out_dir, clip.name, keys)
        scores = load_clip(path)
        if scores is None:
            if models is None:
                models = load_styleheat_models(model_dir, device)
                nets = load_metric_networks(model_dir, settings.metrics, device)
            scores = score_clip(clip, settings, models, nets, Path(out_dir) / "motion_cache", device, progress)
            save_clip(path, scores, keys)
        results[clip.name] = scores
    note = "FID pools every frame of every clip; it only means something over thousands of frames." if "fid" in settings.metrics else ""
    return Report(settings.protocol, keys, pooled(results, settings.metrics), results, note)
