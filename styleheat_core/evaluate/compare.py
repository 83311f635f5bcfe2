"""Scoring one predicted frame sequence against a reference sequence (the `compare` command and the node)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

from .fid import check_fid_frames
from .frames import matched_pair
from .metrics import ClipScorer, pooled
from .networks import MetricNetworks
from .report import Report

COMPARE_NOTE = "CSIM, AED and APD pair frame i of the prediction with frame i of the reference."


def compare_frames(
    pred: np.ndarray,
    ref: np.ndarray,
    nets: MetricNetworks,
    metrics: tuple[str, ...],
    resize: bool = False,
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    progress: bool = False,
    name: str = "pred vs ref",
    on_progress: Callable[[int, int], None] | None = None,
) -> Report:
    """(N,H,W,3) uint8 predicted and reference frames -> a Report of the requested metrics.

    `on_progress(done, total)` is called after every batch (it may raise to cancel)."""
    pred, ref = matched_pair(pred, ref, resize)
    if "fid" in metrics:
        check_fid_frames(len(pred), len(ref))
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1; got {batch_size}")
    scorer = ClipScorer(nets, metrics, device=device)
    with tqdm(total=len(pred), desc="comparing", unit="frame", disable=not progress) as bar:
        for start in range(0, len(pred), batch_size):
            scorer.add(pred[start : start + batch_size], ref[start : start + batch_size])
            done = min(start + batch_size, len(pred))
            bar.update(done - start)
            if on_progress is not None:
                on_progress(done, len(pred))
    clips = {name: scorer.result()}
    settings = {"protocol": "compare", "metrics": list(metrics), "resized": bool(resize), "size": [int(ref.shape[2]), int(ref.shape[1])]}
    return Report("compare", settings, pooled(clips, metrics), clips, COMPARE_NOTE)
