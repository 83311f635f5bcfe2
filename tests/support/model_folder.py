"""A models/styleheat folder of official-format files holding the golden recipe weights, written once per machine.

Node and ComfyUI-server tests load these through the real loaders, so a graph run is a run of the
official file formats with known weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from styleheat_core.io.layouts import OFFICIAL_FILES, ModuleEntry, OfficialFile, TensorEntry
from tests.support.fake_checkpoints import write_fake
from tests.support.golden import GoldenCase, network_state_dict
from tests.support.recipe import recipe_tensor
from tests.support.sadtalker import NETWORKS, random_states, sadtalker_state_dict, write_sadtalker_safetensors

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "recipe-models"
VERSION = "3"
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


def recipe_model_folder() -> Path:
    """The cached folder (written on first use) with every file the example workflows need."""
    stamp = CACHE / f"complete-v{VERSION}"
    if not stamp.exists():
        shutil.rmtree(CACHE, ignore_errors=True)
        CACHE.mkdir(parents=True)
        for key in FILES:
            write_fake(OFFICIAL_FILES[key], CACHE, recipe_container(OFFICIAL_FILES[key]))
        write_sadtalker_safetensors(CACHE / OFFICIAL_FILES["sadtalker_256"].filename, _sadtalker_states())
        stamp.touch()
    return CACHE
