"""StyleHEAT Style Direction: global attribute edits of the source in W+ (InterFaceGAN, GANSpace, your own direction),
and StyleHEAT Direction From Portraits: a direction measured between two inverted portraits."""

from __future__ import annotations

from typing import Callable

import torch

from ..styleheat_core.editing.directions import GANSPACE_PRESETS, apply_ganspace, apply_interfacegan, direction_between
from ..styleheat_core.editing.schedule import RAMP_TOGGLE, SCHEDULE_CHOICES, schedule_from_choice
from ..styleheat_core.io.loaders import load_direction_file, load_ganspace_pca, load_interfacegan_direction
from ..styleheat_core.pipeline.source import ScheduledEdit, SourceLatent
from . import comfy
from .types import CATEGORY, DIRECTION, LATENT, LatentDirection

DIRECTION_INPUT = "direction input"
EDITS = ["age (InterFaceGAN)", "pose (InterFaceGAN)", "beard (GANSpace)", "lip (GANSpace)", "custom direction file", DIRECTION_INPUT]
LAYER_MODES = ["W+ (per layer)", "W (layer mean)"]


def _edit_function(edit: str, direction_file: str, direction: LatentDirection | None) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """(w_plus, strength) -> edited w_plus for a menu entry, reading the file it needs."""
    if (edit == DIRECTION_INPUT) != (direction is not None):
        raise ValueError(
            f"a connected 'direction' is used only with edit = '{DIRECTION_INPUT}': connect a direction and pick that entry, or disconnect it"
        )
    name = edit.split(" ", 1)[0]
    if direction is not None:
        vector = direction.vector
    elif name in ("age", "pose"):
        key = f"interfacegan_{name}"
        vector = load_interfacegan_direction(comfy.resolve(f"interfacegan_directions/{name}.pt", key), key)
    elif name in GANSPACE_PRESETS:
        pca, preset = load_ganspace_pca(comfy.resolve("ffhq_pca.pt", "ganspace")), GANSPACE_PRESETS[name]
        return lambda w_plus, strength: apply_ganspace(w_plus, pca, preset, strength)
    elif not direction_file.strip():
        raise ValueError("'custom direction file' needs direction_file: a .pt/.npy/.safetensors file in models/styleheat holding a (512,) or (18, 512) tensor")
    else:
        path = comfy.find(direction_file)
        if path is None:
            raise FileNotFoundError(f"direction file '{direction_file}' not found in {', '.join(map(str, comfy.model_folders()))}")
        vector = load_direction_file(path)
    return lambda w_plus, strength: apply_interfacegan(w_plus, vector, strength)


class StyleDirection:
    """Edit a global attribute of the source (age, pose, beard, lip or your own W/W+ direction), with a strength schedule over the video."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "latent": (LATENT,),
                "edit": (EDITS, {"default": EDITS[0]}),
                "strength": ("FLOAT", {"default": 5.0, "min": -50.0, "max": 50.0, "step": 0.5, "tooltip": "official: age -5 young / +5 old, beard -20, lip +20"}),
                "ramp": ("BOOLEAN", {"default": False, "tooltip": f"with schedule '{RAMP_TOGGLE}': grow the edit from 0 at the first frame to `strength` at the last"}),
                "direction_file": ("STRING", {"default": "", "tooltip": "custom edit: file name under models/styleheat (.pt/.npy/.safetensors)"}),
            },
            "optional": {
                "direction": (DIRECTION, {"tooltip": f"a direction from StyleHEAT Direction From Portraits (set edit to '{DIRECTION_INPUT}')"}),
                "schedule": (list(SCHEDULE_CHOICES), {"default": RAMP_TOGGLE, "tooltip": "strength over the frames: constant, linear / ease_in_out ramp from 0, official (the demo's batch-of-10 ramp), keyframes"}),
                "keyframes": ("STRING", {"default": "0:0, 24:5", "tooltip": "schedule 'keyframes': frame:strength pairs, linear in between, held outside"}),
            },
        }

    RETURN_TYPES = (LATENT,)
    RETURN_NAMES = ("latent",)
    FUNCTION = "run"
    CATEGORY = f"{CATEGORY}/editing"
    DESCRIPTION = __doc__

    def run(self, latent: SourceLatent, edit: str, strength: float, ramp: bool, direction_file: str, direction=None, schedule=RAMP_TOGGLE, keyframes=""):
        if edit not in EDITS:
            raise ValueError(f"unknown edit '{edit}'; choose one of {EDITS}")
        scheduled = ScheduledEdit(edit, _edit_function(edit, direction_file, direction), strength, schedule_from_choice(schedule, ramp, keyframes))
        return (latent.with_edit(scheduled),)


class DirectionFromPortraits:
    """A W+ direction from one inverted portrait to another (e.g. neutral -> smiling): their W+ difference, for Style Direction."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "start": (LATENT, {"tooltip": "the portrait the direction starts from (e.g. neutral)"}),
                "end": (LATENT, {"tooltip": "the portrait it points to (e.g. smiling); strength 1 moves start onto end"}),
                "layers": (LAYER_MODES, {"default": LAYER_MODES[0], "tooltip": "per-layer W+ difference, or its mean over the 18 layers (a W direction)"}),
            }
        }

    RETURN_TYPES = (DIRECTION,)
    RETURN_NAMES = ("direction",)
    FUNCTION = "run"
    CATEGORY = f"{CATEGORY}/editing"
    DESCRIPTION = __doc__

    def run(self, start: SourceLatent, end: SourceLatent, layers: str):
        if layers not in LAYER_MODES:
            raise ValueError(f"unknown layers '{layers}'; choose one of {LAYER_MODES}")
        vector = direction_between(start.inversion.w_plus, end.inversion.w_plus, per_layer=layers == LAYER_MODES[0])
        return (LatentDirection(vector.cpu(), f"portrait difference ({layers})"),)


NODES = {
    "StyleHEAT_StyleDirection": (StyleDirection, "StyleHEAT Style Direction"),
    "StyleHEAT_DirectionFromPortraits": (DirectionFromPortraits, "StyleHEAT Direction From Portraits"),
}
