"""Style Direction: global attribute edits of the source in W+ (InterFaceGAN, GANSpace, your own direction),
and Direction From Portraits: a direction measured between two inverted portraits."""

from __future__ import annotations

import torch

from ..styleheat_core.editing.directions import OWN_DIRECTION, StyleDirections, check_edit, direction_between, edit_latent
from ..styleheat_core.editing.schedule import RAMP_TOGGLE, SCHEDULE_CHOICES, schedule_from_choice
from ..styleheat_core.io.loaders import load_direction_file
from ..styleheat_core.pipeline.source import ScheduledEdit, SourceLatent, WPlusEdit
from . import comfy
from .loaders import default_style_directions
from .types import CATEGORY, DIRECTION, LATENT, STYLE_DIRECTIONS, LatentDirection

DIRECTION_INPUT = "direction input"
CUSTOM_FILE = "custom direction file"
# Menu entry -> the core edit (`edit_latent` choice).
EDITS = {
    "age (InterFaceGAN)": "age",
    "pose (InterFaceGAN)": "pose",
    "beard (GANSpace)": "beard",
    "lip (GANSpace)": "lip",
    CUSTOM_FILE: OWN_DIRECTION,
    DIRECTION_INPUT: OWN_DIRECTION,
}
LAYER_MODES = ["W+ (per layer)", "W (layer mean)"]
STRENGTH_RANGE = (-50.0, 50.0)  # the strength widget's limits; keyframe strengths must keep to them too


def _directions(edit: str, direction_file: str, direction: LatentDirection | None, directions: StyleDirections | None) -> StyleDirections:
    """What the chosen menu entry reads: the connected direction, the user's file, or the official files."""
    if (edit == DIRECTION_INPUT) != (direction is not None):
        raise ValueError(
            f"a connected 'direction' is used only with edit = '{DIRECTION_INPUT}': connect a direction and pick that entry, or disconnect it"
        )
    if direction is not None:
        return StyleDirections({OWN_DIRECTION: direction.vector})
    if edit == CUSTOM_FILE:
        if not direction_file.strip():
            raise ValueError("'custom direction file' needs direction_file: a .pt/.npy/.safetensors file in models/styleheat holding a (512,) or (18, 512) tensor")
        path = comfy.find(direction_file)
        if path is None:
            raise FileNotFoundError(f"direction file '{direction_file}' not found in {', '.join(map(str, comfy.model_folders()))}")
        vector = load_direction_file(path)
        if not torch.isfinite(vector).all():
            raise ValueError(f"direction file '{direction_file}' holds NaN or infinite values; save a direction of finite numbers")
        return StyleDirections({OWN_DIRECTION: vector})
    return directions if directions is not None else default_style_directions(EDITS[edit])


def _edit_function(choice: str, directions: StyleDirections) -> WPlusEdit:
    check_edit(choice, directions.interfacegan, directions.ganspace)
    return lambda w_plus, strength: edit_latent(w_plus, choice, strength, directions.interfacegan, directions.ganspace)


class StyleDirection:
    """Edit a global attribute of the source (age, pose, beard, lip or your own W/W+ direction), with a strength schedule over the video."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "latent": (LATENT, {"tooltip": "the inverted portrait (Invert), possibly already edited"}),
                "edit": (list(EDITS), {"default": next(iter(EDITS)), "tooltip": "which attribute to change; 'direction input' uses the connected direction"}),
                "strength": ("FLOAT", {"default": 5.0, "min": STRENGTH_RANGE[0], "max": STRENGTH_RANGE[1], "step": 0.5, "tooltip": "official: age -5 young / +5 old, beard -20, lip +20"}),
                "ramp": ("BOOLEAN", {"default": False, "tooltip": f"with schedule '{RAMP_TOGGLE}': grow the edit from 0 at the first frame to `strength` at the last"}),
                "direction_file": ("STRING", {"default": "", "tooltip": "custom edit: file name under models/styleheat (.pt/.npy/.safetensors)"}),
            },
            "optional": {
                "direction": (DIRECTION, {"tooltip": f"a direction from Direction From Portraits (set edit to '{DIRECTION_INPUT}')"}),
                "schedule": (list(SCHEDULE_CHOICES), {"default": RAMP_TOGGLE, "tooltip": "strength over the frames: constant, linear / ease_in_out ramp from 0, official (the demo's batch-of-10 ramp), keyframes"}),
                "keyframes": ("STRING", {"default": "0:0, 24:5", "tooltip": "schedule 'keyframes': frame:strength pairs (strengths within the strength widget's range), linear in between, held outside"}),
                "directions": (STYLE_DIRECTIONS, {"tooltip": "the official edit files from Load Style Directions; unconnected, the official file names are used"}),
            },
        }

    RETURN_TYPES = (LATENT,)
    RETURN_NAMES = ("latent",)
    OUTPUT_TOOLTIPS = ("the portrait with this edit scheduled over the frames (computed per frame when rendering)",)
    FUNCTION = "run"
    CATEGORY = f"{CATEGORY}/editing"
    DESCRIPTION = __doc__

    def run(
        self, latent: SourceLatent, edit: str, strength: float, ramp: bool, direction_file: str, direction=None, schedule=RAMP_TOGGLE, keyframes="", directions=None
    ):
        if edit not in EDITS:
            raise ValueError(f"unknown edit '{edit}'; choose one of {list(EDITS)}")
        strengths = schedule_from_choice(schedule, ramp, keyframes, STRENGTH_RANGE)
        apply = _edit_function(EDITS[edit], _directions(edit, direction_file, direction, directions))
        return (latent.with_edit(ScheduledEdit(edit, apply, strength, strengths)),)


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
    OUTPUT_TOOLTIPS = ("a W+ direction for Style Direction (edit 'direction input')",)
    FUNCTION = "run"
    CATEGORY = f"{CATEGORY}/editing"
    DESCRIPTION = __doc__

    def run(self, start: SourceLatent, end: SourceLatent, layers: str):
        if layers not in LAYER_MODES:
            raise ValueError(f"unknown layers '{layers}'; choose one of {LAYER_MODES}")
        vector = direction_between(start.inversion.w_plus, end.inversion.w_plus, per_layer=layers == LAYER_MODES[0])
        return (LatentDirection(vector.cpu(), f"portrait difference ({layers})"),)


NODES = {
    "StyleHEAT_StyleDirection": (StyleDirection, "Style Direction"),
    "StyleHEAT_DirectionFromPortraits": (DirectionFromPortraits, "Direction From Portraits"),
}
