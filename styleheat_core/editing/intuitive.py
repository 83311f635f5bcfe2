"""The official intuitive-edit demo as a coefficient track: a rotation sweep, then an expression sweep.

Official `get_intuitive_control` + `intuitive_edit`: pose columns 64:70 (angles, translation) go
through ROTATION_ORDER, then the expression columns go from the source's expression through
EXPRESSION_ORDER (the vectors of intuitive_edit/expression.pth). Each leg has `steps` frames
interpolated from the previous target (inclusive) to the next (inclusive); the sweep starts at
rotation_center and keeps the pose at its last value during the expression legs. Crop columns
stay the source's. The official first expression leg interpolates from a view of the frame it
writes, so each of its frames moves i/(steps-1) of the way from the previous frame (not from the
source expression): it eases out instead of moving linearly. This is reproduced.
"""

from __future__ import annotations

import math
from typing import Mapping

import torch

from ..preprocess.semantics import POSE_START, SEMANTIC_DIM

OFFICIAL_STEPS = 10
POSE = slice(POSE_START, POSE_START + 6)
ROTATION_CONTROLS = {
    "rotation_center": (0.0, 0.0, 0.0, 0.0, 0.0, 0.45),
    "rotation_left_x": (0.0, 0.0, math.pi / 10, 0.0, 0.0, 0.45),
    "rotation_right_x": (0.0, 0.0, -math.pi / 10, 0.0, 0.0, 0.45),
    "rotation_left_y": (math.pi / 10, 0.0, 0.0, 0.0, 0.0, 0.45),
    "rotation_right_y": (-math.pi / 10, 0.0, 0.0, 0.0, 0.0, 0.45),
    "rotation_left_z": (0.0, math.pi / 8, 0.0, 0.0, 0.0, 0.45),
    "rotation_right_z": (0.0, -math.pi / 8, 0.0, 0.0, 0.0, 0.45),
}
ROTATION_ORDER = tuple(
    name for side in ("left_x", "right_x", "left_y", "right_y", "left_z", "right_z") for name in (f"rotation_{side}", "rotation_center")
)
EXPRESSION_ORDER = (
    "expression_center", "expression_mouth", "expression_center", "expression_eyebrow",
    "expression_center", "expression_eyes", "expression_center",
)


def sweep_length(steps: int = OFFICIAL_STEPS) -> int:
    """Frames in the sweep: (12 rotation legs + 7 expression legs) * steps = 190 officially."""
    return (len(ROTATION_ORDER) + len(EXPRESSION_ORDER)) * steps


def intuitive_sweep(source: torch.Tensor, presets: Mapping[str, torch.Tensor], steps: int = OFFICIAL_STEPS) -> torch.Tensor:
    """The official demo's (sweep_length(steps), 73) coefficient sequence for a source vector (73,)."""
    if source.numel() != SEMANTIC_DIM:
        raise ValueError(f"the source motion vector has {SEMANTIC_DIM} values; got shape {tuple(source.shape)}")
    if steps < 2:
        raise ValueError(f"each leg of the sweep needs at least 2 frames; got {steps}")
    missing = sorted(set(EXPRESSION_ORDER) - set(presets))
    if missing:
        raise KeyError(f"the intuitive sweep needs the expression vectors {missing} (intuitive_edit/expression.pth)")
    frame = source.reshape(SEMANTIC_DIM).float().clone()
    frames = []
    pose_targets = [torch.tensor(ROTATION_CONTROLS[name]) for name in ROTATION_ORDER]
    for leg in _legs(torch.tensor(ROTATION_CONTROLS["rotation_center"]), pose_targets, steps):
        frame[POSE] = leg
        frames.append(frame.clone())
    expression_targets = [presets[name].float().reshape(POSE_START) for name in EXPRESSION_ORDER]
    for leg in _legs(frame[:POSE_START].clone(), expression_targets, steps, chain_first_leg=True):
        frame[:POSE_START] = leg
        frames.append(frame.clone())
    return torch.stack(frames).to(source.dtype)


def _legs(start: torch.Tensor, targets: list[torch.Tensor], steps: int, chain_first_leg: bool = False) -> list[torch.Tensor]:
    """Values from `start` through each target, `steps` per leg; each leg starts where the last one ended.

    With `chain_first_leg`, frame i of the first leg interpolates from frame i-1 (the official aliasing).
    """
    values, current = [], start
    for leg, target in enumerate(targets):
        for i in range(steps):
            values.append((target - current) * i / (steps - 1) + current)
            if chain_first_leg and leg == 0:
                current = values[-1]
        current = values[-1]
    return values
