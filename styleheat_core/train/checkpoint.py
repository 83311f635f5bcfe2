"""Training checkpoints in the official container: {'net_G_ema', 'net_G', 'opt_G', 'sch_G', 'current_epoch', 'current_iteration'}.

`net_G_ema` is the trained module's state dict: raw VideoWarper keys after stage 1 (what the official
stage-2 trainer reads as `visual_warper_path`), `video_warper.*` + `calibrator.*` after stage 2 (the
StyleHEAT_visual.pt layout that `io.loaders.load_motion_networks` and the official code load), raw
AudioWarper keys after the audio stage (`load_audio_warper`). Our resume state rides along under
extra keys. Files are written atomically and read with torch.load(weights_only=True).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import nn

from ..io.atomic import atomic_open, atomic_path
from ..io.checkpoints import build_module, read_container, validated_parts
from ..io.layouts import ModuleEntry, OfficialFile, official_file
from ..models.warper import VideoWarper

CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.pt"

# The official stage-1 output (PIRenderer-style container, raw VideoWarper keys).
STAGE1_FILE = OfficialFile(
    "video_warper",
    "video_warper.pth",
    "stage-1 video warper {'net_G_ema': VideoWarper state dict}",
    "stage 1 of python -m styleheat_core.train, or the official video_warper_trainer",
    {"net_G_ema": ModuleEntry("video_warper", VideoWarper)},
)


def checkpoint_path(out_dir: str | Path, step: int) -> Path:
    return Path(out_dir) / CHECKPOINT_DIR / f"iteration_{step:08d}.pt"


def save_checkpoint(out_dir: str | Path, container: dict) -> Path:
    """Write the container as iteration_<step>.pt and latest.pt (atomically); returns the step's path."""
    path = checkpoint_path(out_dir, container["current_iteration"])
    with atomic_open(path) as handle:
        torch.save(container, handle)
    with atomic_path(path.with_name(LATEST)) as temporary:
        shutil.copyfile(path, temporary)
    return path


def load_checkpoint(path: str | Path) -> dict:
    """A training checkpoint (no pickle); 'auto' paths are resolved by `resolve_resume`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    container = torch.load(path, map_location="cpu", weights_only=True)
    missing = [k for k in ("net_G", "net_G_ema", "opt_G", "sch_G", "current_iteration") if k not in container]
    if missing:
        raise ValueError(f"{path} is not a resumable training checkpoint: it lacks {missing}")
    return container


def resolve_resume(resume: str | None, out_dir: str | Path) -> Path | None:
    """'auto' -> the run's latest.pt if it exists; a path -> that path; None -> start fresh."""
    if resume is None:
        return None
    if resume == "auto":
        latest = Path(out_dir) / CHECKPOINT_DIR / LATEST
        return latest if latest.is_file() else None
    return Path(resume)


def load_video_warper(path: str | Path) -> VideoWarper:
    """A trained video warper (net_G_ema) from a stage-1 checkpoint or a StyleHEAT_visual.pt-layout file, strictly checked."""
    container = read_container(path, STAGE1_FILE)
    ema = container.get("net_G_ema") if isinstance(container, dict) else None
    prefixed = isinstance(ema, dict) and any(k.startswith("video_warper.") for k in ema)
    spec = official_file("styleheat") if prefixed else STAGE1_FILE
    state = validated_parts(path, spec)["video_warper"]
    return build_module(ModuleEntry("video_warper", VideoWarper), state).train().requires_grad_(True)


def styleheat_networks() -> dict[str, nn.Module]:
    """Fresh video warper and calibrator, built exactly as the StyleHEAT_visual.pt layout builds them."""
    return {entry.name: entry.build() for entry in official_file("styleheat").layout["net_G_ema"]}

