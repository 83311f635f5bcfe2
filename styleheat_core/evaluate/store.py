"""Per-clip scores on disk (safetensors), so an interrupted evaluation resumes at the next unfinished clip.

A clip's file name carries a digest of the settings, so changed settings never reuse old scores.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import torch

from ..preprocess.motion_cache import load_entry, save_entry
from .metrics import ClipScores

FID_PRED, FID_REF, FRAMES = "fid.pred", "fid.ref", "frames"


def settings_digest(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def clip_path(out_dir: Path, clip: str, settings: dict) -> Path:
    """Where the scores of `clip` under `settings` are kept."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", clip)
    return Path(out_dir) / "clips" / f"{safe}.{settings_digest(settings)}.safetensors"


def save_clip(path: Path, scores: ClipScores, settings: dict) -> None:
    """Write one clip's scores atomically."""
    tensors = {f"value.{name}": torch.from_numpy(values) for name, values in scores.values.items()}
    tensors[FRAMES] = torch.tensor([scores.frames])
    if scores.fid_pred is not None:
        tensors[FID_PRED], tensors[FID_REF] = torch.from_numpy(scores.fid_pred), torch.from_numpy(scores.fid_ref)
    save_entry(path, tensors, settings)


def load_clip(path: Path) -> ClipScores | None:
    """Stored scores, or None when the clip is not done yet (missing or unreadable file)."""
    entry = load_entry(path)
    if entry is None:
        return None
    values = {key.removeprefix("value."): value.numpy().astype(np.float64) for key, value in entry.items() if key.startswith("value.")}
    fid = (entry[FID_PRED].numpy(), entry[FID_REF].numpy()) if FID_PRED in entry else (None, None)
    return ClipScores(int(entry[FRAMES][0]), values, *fid)
