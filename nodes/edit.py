"""StyleHEAT Style Direction: global attribute edits of the source in W+ (InterFaceGAN, GANSpace, your own direction)."""

from __future__ import annotations

from typing import Callable

import torch

from ..styleheat_core.editing.directions import GANSPACE_PRESETS, apply_ganspace, apply_interfacegan
from ..styleheat_core.io.loaders import load_direction_file, load_ganspace_pca, load_interfacegan_direction
from ..styleheat_core.pipeline.source import ScheduledEdit, SourceLatent
from . import comfy
from .types import CATEGORY, LATENT

EDITS = ["age (InterFaceGAN)", "pose (InterFaceGAN)", "beard (GANSpace)", "lip (GANSpace)", "custom direction file"]


def _edit_function(edit: str, direction_file: str) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """(w_plus, strength) -> edited w_plus for a menu entry, reading the file it needs."""
    name = edit.split(" ", 1)[0]
    if name in ("age", "pose"):
        key = f"interfacegan_{name}"
        direction = load_interfacegan_direction(comfy.resolve(f"interfacegan_directions/{name}.pt", key), key)
    elif name in GANSPACE_PRESETS:
        pca, preset = load_ganspace_pca(comfy.resolve("ffhq_pca.pt", "ganspace")), GANSPACE_PRESETS[name]
        return lambda w_plus, strength: apply_ganspace(w_plus, pca, preset, strength)
    elif not direction_file.strip():
        raise ValueError("'custom direction file' needs direction_file: a .pt/.safetensors file in models/styleheat holding a (512,) or (18, 512) tensor")
    else:
        path = comfy.find(direction_file)
        if path is None:
            raise FileNotFoundError(f"direction file '{direction_file}' not found in {', '.join(map(str, comfy.model_folders()))}")
        direction = load_direction_file(path)
    return lambda w_plus, strength: apply_interfacegan(w_plus, direction, strength)


class StyleDirection:
    """Edit a global attribute of the source (age, pose, beard, lip or your own W/W+ direction), optionally ramped over the video."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "latent": (LATENT,),
                "edit": (EDITS, {"default": EDITS[0]}),
                "strength": ("FLOAT", {"default": 5.0, "min": -50.0, "max": 50.0, "step": 0.5, "tooltip": "official: age -5 young / +5 old, beard -20, lip +20"}),
                "ramp": ("BOOLEAN", {"default": False, "tooltip": "grow the edit from 0 at the first frame to `strength` at the last (official demo)"}),
                "direction_file": ("STRING", {"default": "", "tooltip": "custom edit: file name under models/styleheat"}),
            }
        }

    RETURN_TYPES = (LATENT,)
    RETURN_NAMES = ("latent",)
    FUNCTION = "run"
    CATEGORY = f"{CATEGORY}/editing"
    DESCRIPTION = __doc__

    def run(self, latent: SourceLatent, edit: str, strength: float, ramp: bool, direction_file: str):
        if edit not in EDITS:
            raise ValueError(f"unknown edit '{edit}'; choose one of {EDITS}")
        return (latent.with_edit(ScheduledEdit(edit, _edit_function(edit, direction_file), strength, ramp)),)


NODES = {"StyleHEAT_StyleDirection": (StyleDirection, "StyleHEAT Style Direction")}
