"""A models/styleheat folder of official-format files holding the golden recipe weights, written once per machine.

Node and ComfyUI-server tests load these through the real loaders, so a graph run is a run of the
official file formats with known weights. The folder lives under the system's temporary folder
($STYLEHEAT_TEST_CACHE to choose another), named by a key of what decides its content; it is
built under a temporary name and renamed when complete, so concurrent test runs share it safely.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from styleheat_core.io.layouts import OFFICIAL_FILES, ModuleEntry, OfficialFile, TensorEntry
from tests.support.fake_checkpoints import write_fake
from tests.support.golden import GoldenCase, golden_dir, network_state_dict, sadtalker_golden_dir
from tests.support.recipe import recipe_tensor
from tests.support.sadtalker import NETWORKS, random_states, sadtalker_state_dict, write_sadtalker_safetensors

VERSION = "4"
# Which golden manifest holds the weights of each network / tensor entry of the official files.
NETWORK_MANIFESTS = {
    "generator": "stylegan2",
    "e4e": "e4e",
    "aligner": "hfgi_aligner",
    "residual_encoder": "hfgi_encoder",
    "video_warper": "video_warper",
    "calibrator": "calibrator",
    "deep3d": "deep3d",
}
FILES = ("audio_warper", "stylegan", "e4e", "hfgi", "styleheat", "deep3d", "bfm_landmarks", "interfacegan_age", "interfacegan_pose", "ganspace", "expression_presets")


def _tensor(spec: OfficialFile, entry: TensorEntry) -> torch.Tensor:
    if entry.name == "latent_avg":
        return network_state_dict("e4e")["latent_avg"]
    if spec.key.startswith("interfacegan_"):
        return network_state_dict("interfacegan")[spec.key.removeprefix("interfacegan_")]
    if spec.key == "ganspace":
        return network_state_dict("ganspace")[entry.name]
    if spec.key == "bfm_landmarks":
        return GoldenCase.load("preprocess_3dmm").input("in.lm3d_68").double()
    if spec.key == "expression_presets":
        return recipe_tensor("expression_presets", entry.name, [64], 0.0, 0.5)
    raise KeyError(f"no recipe for {spec.key}:{entry.name}")


def recipe_container(spec: OfficialFile, layout: Any = None) -> Any:
    """The official container of `spec` filled with recipe weights."""
    layout = spec.layout if layout is None else layout
    if isinstance(layout, ModuleEntry) and layout.name not in NETWORK_MANIFESTS:
        torch.manual_seed(0)  # no recipe exists (no official weights): a seeded initialisation
        return {layout.prefix + key: value for key, value in layout.build().state_dict().items()}
    if isinstance(layout, ModuleEntry):
        expected = layout.build().state_dict()
        state = network_state_dict(NETWORK_MANIFESTS[layout.name])
        return {layout.prefix + key: state[key] for key in expected}
    if isinstance(layout, TensorEntry):
        return _tensor(spec, layout)
    if isinstance(layout, list):
        merged: dict = {}
        for entry in layout:
            merged.update(recipe_container(spec, entry))
        return merged
    return {key: recipe_container(spec, sub) for key, sub in layout.items()}


def _sadtalker_states() -> dict[str, dict[str, torch.Tensor]]:
    """SadTalker recipe weights when the SadTalker golden set is present, else seeded ones."""
    try:
        return {name: sadtalker_state_dict(manifest) for name, manifest in NETWORKS.items()}
    except FileNotFoundError:
        return random_states()


def recipe_cache_root() -> Path:
    """$STYLEHEAT_TEST_CACHE, else <system temp>/styleheat-tests-<user>: reused between runs, never inside the repository."""
    env = os.environ.get("STYLEHEAT_TEST_CACHE")
    return Path(env) if env else Path(tempfile.gettempdir()) / f"styleheat-tests-{getpass.getuser()}"


def _content_key() -> str:
    """What decides the folder's bytes: the recipe version, the golden case set and whether SadTalker's cases exist."""
    sadtalker = sadtalker_golden_dir() / "manifests"
    text = f"{VERSION}|{golden_dir().resolve()}|{sadtalker.resolve() if sadtalker.is_dir() else 'seeded'}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _remove_abandoned_builds(root: Path) -> None:
    """Delete half-built folders (.building-<pid>-<token>) whose builder process is gone (a run killed mid-build)."""
    if os.name != "posix":  # os.kill(pid, 0) only probes a process on POSIX
        return
    for stale in root.glob(".building-*"):
        pid = stale.name.split("-")[1]
        try:
            os.kill(int(pid), 0)
        except (ProcessLookupError, ValueError):
            shutil.rmtree(stale, ignore_errors=True)
        except PermissionError:
            continue


def recipe_model_folder() -> Path:
    """The cached folder (written on first use) with every file the example workflows need."""
    root = recipe_cache_root()
    folder = root / f"recipe-models-v{VERSION}-{_content_key()}"
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(root)
    building = root / f".building-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        for key in FILES:
            write_fake(OFFICIAL_FILES[key], building, recipe_container(OFFICIAL_FILES[key]))
        write_sadtalker_safetensors(building / OFFICIAL_FILES["sadtalker_256"].filename, _sadtalker_states())
        building.rename(folder)
    except OSError:
        if not folder.is_dir():  # else another run completed the same folder first
            raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return folder
