"""The networks each metric needs, read strictly from the model folder (official files under metrics/, Deep3D, BFM)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..io.checkpoints import CheckpointError
from ..io.layouts import official_file
from ..io.loaders import load_deep3d, load_networks, load_standard_landmarks
from ..models.lpips import LPIPS

METRICS = ("psnr", "ssim", "lpips", "fid", "csim", "aed", "apd")
# Official files (OFFICIAL_FILES keys) each metric reads; PSNR and SSIM need none.
FILES_NEEDED = {
    "lpips": ("metric_alexnet", "metric_lpips_alex"),
    "fid": ("metric_fid_inception",),
    "csim": ("metric_arcface",),
    "aed": ("deep3d", "bfm_landmarks"),
    "apd": ("deep3d", "bfm_landmarks"),
}


@dataclass
class MetricNetworks:
    """Ready networks (eval mode, on one device); None where no requested metric needs them."""

    lpips: LPIPS | None = None
    inception: nn.Module | None = None
    arcface: nn.Module | None = None
    deep3d: nn.Module | None = None
    lm3d_5: np.ndarray | None = None


def check_metric_names(metrics: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The requested metrics in canonical order; an error naming the unknown ones."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"unknown metric(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(METRICS)}")
    return tuple(m for m in METRICS if m in metrics)


def _path(model_dir: Path, key: str) -> Path:
    """The file of `key` in the model folder; a missing one names where to put it, where it comes from and the download command."""
    spec = official_file(key)
    path = model_dir / spec.filename
    if not path.is_file():
        raise CheckpointError(
            f"{spec.filename} ({spec.what}) not found in {model_dir}: put it at {path} (from {spec.source}), "
            f"or run `python -m styleheat_core.download --dest {model_dir} --only {key}`."
        )
    return path


def load_metric_networks(
    models: str | Path | Callable[[str], Path], metrics: tuple[str, ...], device: torch.device | str = "cpu"
) -> MetricNetworks:
    """Load what `metrics` need from a model folder (models/styleheat), or through `models(key) -> path`
    (ComfyUI's folder search); every missing file is reported at once."""
    locate = models if callable(models) else lambda key: _path(Path(models), key)
    needed = sorted({key for metric in metrics for key in FILES_NEEDED.get(metric, ())})
    paths, missing = {}, []
    for key in needed:
        try:
            paths[key] = locate(key)
        except (CheckpointError, FileNotFoundError) as error:
            missing.append(str(error))
    if missing:
        raise CheckpointError("the metrics need files that are missing:\n  " + "\n  ".join(missing))
    nets = MetricNetworks()
    if "metric_alexnet" in paths:
        trunk = load_networks(paths["metric_alexnet"], "metric_alexnet", device)["alexnet"]
        heads = load_networks(paths["metric_lpips_alex"], "metric_lpips_alex", device)["lpips_alex"]
        nets.lpips = LPIPS(trunk, heads).to(device).eval()
    if "metric_fid_inception" in paths:
        nets.inception = load_networks(paths["metric_fid_inception"], "metric_fid_inception", device)["fid_inception"]
    if "metric_arcface" in paths:
        nets.arcface = load_networks(paths["metric_arcface"], "metric_arcface", device)["arcface"]
    if "deep3d" in paths:
        nets.deep3d = load_deep3d(paths["deep3d"], device)
        nets.lm3d_5 = load_standard_landmarks(paths["bfm_landmarks"])
    return nets
