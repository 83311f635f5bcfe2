"""SadTalker golden support: recipe weights from the sadtalker manifests and fake files in SadTalker's containers.

The manifests list `tensors` (not `keys`) with no `fixed` entries; the weights come from the same
splitmix recipe as the StyleHEAT cases (`recipe.recipe_tensor`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
from safetensors.torch import save_file

from styleheat_core.audio.sadtalker import SadTalkerAudioNetworks
from styleheat_core.models.sadtalker_audio2exp import SimpleWrapperV2
from styleheat_core.models.sadtalker_audio2pose import Audio2Pose

from .golden import sadtalker_golden_dir
from .recipe import load_manifest, recipe_tensor

NETWORKS = {"audio2exp": "sadtalker_audio2exp", "audio2pose": "sadtalker_audio2pose"}


@lru_cache(maxsize=None)
def sadtalker_state_dict(manifest_name: str, root: str | None = None) -> dict[str, torch.Tensor]:
    """Recipe weights of one SadTalker network from manifests/<manifest_name>.json (tag read from the file)."""
    manifest = load_manifest(Path(root or sadtalker_golden_dir()) / "manifests" / f"{manifest_name}.json")
    tag = manifest["tag"]
    state = {}
    for key, entry in manifest["tensors"].items():
        if entry["dtype"] == "int64":
            state[key] = torch.zeros(entry["shape"], dtype=torch.int64)
        else:
            state[key] = recipe_tensor(tag, key, list(entry["shape"]), float(entry["mean"]), float(entry["std"]))
    return state


def recipe_networks() -> SadTalkerAudioNetworks:
    """Both networks with the recipe weights, loaded strictly, eval mode."""
    exp, pose = SimpleWrapperV2(), Audio2Pose()
    exp.load_state_dict(sadtalker_state_dict(NETWORKS["audio2exp"]), strict=True)
    pose.load_state_dict(sadtalker_state_dict(NETWORKS["audio2pose"]), strict=True)
    return SadTalkerAudioNetworks(exp.eval(), pose.eval())


def random_states(seed: int = 0) -> dict[str, dict[str, torch.Tensor]]:
    """Freshly initialised state dicts of both networks (no golden data needed)."""
    torch.manual_seed(seed)
    return {"audio2exp": SimpleWrapperV2().state_dict(), "audio2pose": Audio2Pose().state_dict()}


def write_sadtalker_safetensors(path: Path, states: dict[str, dict[str, torch.Tensor]], extra: dict[str, torch.Tensor] | None = None) -> Path:
    """SadTalker_V0.0.2_*.safetensors layout: audio2exp.<k> / audio2pose.<k> (+ other networks' keys in `extra`)."""
    flat = {f"{name}.{k}": v.contiguous() for name, state in states.items() for k, v in state.items()}
    flat.update(extra or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(flat, str(path))
    return path


def write_sadtalker_pth(path: Path, state: dict[str, torch.Tensor], epoch: int) -> Path:
    """auido2*_000xx-model.pth layout: torch.save({'model': state_dict, 'optimizer': {}, 'epoch': epoch})."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": state, "optimizer": {}, "epoch": epoch}, path)
    return path


class StoredWindows:
    """Stored (T, 80, 16) mel windows behind the `MelFrames.windows` interface, for cases that give windows, not audio."""

    def __init__(self, windows: torch.Tensor):
        self._windows = windows
        self.num_frames = windows.shape[0]

    def windows(self, spec, start: int = 0, stop: int | None = None) -> torch.Tensor:
        return self._windows[start:stop]
