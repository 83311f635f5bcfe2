"""Scoring generated frames against reference frames, chunk by chunk, and pooling the scores of many clips."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from .fid import fid, inception_features
from .frames import EvaluationInputError
from .identity import cosine_similarity, identity_embeddings
from .lpips import lpips_distances
from .motion_distance import frame_semantics, motion_distances
from .networks import MetricNetworks
from .psnr_ssim import psnr, ssim

PER_FRAME = ("psnr", "ssim", "lpips", "csim", "aed", "apd")


@dataclass
class ClipScores:
    """Per-frame values of one clip (NaN where a frame could not be measured, e.g. no face for AED) and its FID features."""

    frames: int
    values: dict[str, np.ndarray]
    fid_pred: np.ndarray | None = None
    fid_ref: np.ndarray | None = None

    def means(self) -> dict[str, float]:
        """Mean of each per-frame metric over the frames where it was measured (NaN if none)."""
        return {name: _mean(values) for name, values in self.values.items()}


def _mean(values: np.ndarray) -> float:
    measured = values[~np.isnan(values)]
    return float(measured.mean()) if len(measured) else float("nan")


@dataclass
class ClipScorer:
    """Accumulates the metrics of one clip: `add(pred, ref)` per chunk of (B,H,W,3) uint8 frames, then `result()`.

    CSIM compares every generated frame with `identity_source` (an aligned face) when given, else with
    its paired reference frame. AED/APD compare each generated frame with its paired reference frame.
    """

    nets: MetricNetworks
    metrics: tuple[str, ...]
    identity_source: np.ndarray | None = None
    device: torch.device | str = "cpu"
    _frames: int = 0
    _values: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _fid: tuple[list[np.ndarray], list[np.ndarray]] = field(default_factory=lambda: ([], []))
    _source_embedding: torch.Tensor | None = None

    def __post_init__(self) -> None:
        needs = {"lpips": self.nets.lpips, "fid": self.nets.inception, "csim": self.nets.arcface, "aed": self.nets.deep3d, "apd": self.nets.deep3d}
        absent = [m for m in self.metrics if m in needs and needs[m] is None]
        if absent:
            raise ValueError(f"no network loaded for {', '.join(absent)}; load them with load_metric_networks")
        if "csim" in self.metrics and self.identity_source is not None:
            self._source_embedding = identity_embeddings(self.nets.arcface, torch.from_numpy(self.identity_source[None]))

    def _append(self, name: str, values: torch.Tensor) -> None:
        self._values.setdefault(name, []).append(values.double().cpu().numpy())

    def add(self, pred: np.ndarray, ref: np.ndarray) -> None:
        """Score one chunk of paired frames."""
        if pred.shape != ref.shape or pred.ndim != 4 or pred.shape[-1] != 3:
            raise EvaluationInputError(f"frames to compare must be paired (B, H, W, 3) batches of one shape; got {pred.shape} and {ref.shape}")
        self._frames += len(pred)
        p, r = torch.from_numpy(np.ascontiguousarray(pred)), torch.from_numpy(np.ascontiguousarray(ref))
        if "psnr" in self.metrics:
            self._append("psnr", psnr(p.to(self.device), r.to(self.device)))
        if "ssim" in self.metrics:
            self._append("ssim", ssim(p.to(self.device), r.to(self.device)))
        if "lpips" in self.metrics:
            self._append("lpips", lpips_distances(self.nets.lpips, p, r))
        if "csim" in self.metrics:
            reference = self._source_embedding if self._source_embedding is not None else identity_embeddings(self.nets.arcface, r)
            self._append("csim", cosine_similarity(identity_embeddings(self.nets.arcface, p), reference))
        if "aed" in self.metrics or "apd" in self.metrics:
            aed, apd = motion_distances(*(frame_semantics(f, self.nets.deep3d, self.nets.lm3d_5) for f in (pred, ref)))
            for name, values in (("aed", aed), ("apd", apd)):
                if name in self.metrics:
                    self._append(name, values)
        if "fid" in self.metrics:
            self._fid[0].append(inception_features(self.nets.inception, p))
            self._fid[1].append(inception_features(self.nets.inception, r))

    def result(self) -> ClipScores:
        if not self._frames:
            raise EvaluationInputError("no frames were scored; the clip is empty")
        values = {name: np.concatenate(self._values[name]) for name in PER_FRAME if name in self.metrics}
        if "fid" not in self.metrics:
            return ClipScores(self._frames, values)
        return ClipScores(self._frames, values, np.concatenate(self._fid[0]), np.concatenate(self._fid[1]))


@dataclass
class MetricValue:
    """A pooled metric: its value and the number of frames it was measured on."""

    value: float
    frames: int


def pooled(clips: Mapping[str, ClipScores], metrics: tuple[str, ...]) -> dict[str, MetricValue]:
    """Every metric over all frames of all clips (frame-weighted means; FID over the pooled features)."""
    result = {}
    for name in metrics:
        if name == "fid":
            pred = np.concatenate([c.fid_pred for c in clips.values()])
            ref = np.concatenate([c.fid_ref for c in clips.values()])
            result[name] = MetricValue(fid(pred, ref), len(pred))
        else:
            values = np.concatenate([c.values[name] for c in clips.values()])
            result[name] = MetricValue(_mean(values), int((~np.isnan(values)).sum()))
    return result
