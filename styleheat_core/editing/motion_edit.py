"""Intuitive pose and expression edits of 73-d motion vectors (the official `intuitive_edit`, as a filter).

Columns: expression 0:64, angles 64:67 (Deep3D x = pitch, y = yaw, z = roll, radians),
translation 67:70, crop 70:73. Edits can ramp in over the frames, as the official demo animates them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..preprocess.semantics import POSE_START, SEMANTIC_DIM

EXPRESSION = slice(0, POSE_START)
ANGLES = slice(POSE_START, POSE_START + 3)
EXPRESSION_PRESETS = ("expression_center", "expression_mouth", "expression_eyebrow", "expression_eyes")


@dataclass(frozen=True)
class MotionEdit:
    """Angle offsets in degrees (pitch, yaw, roll); an optional target expression blended in by `expression_strength`."""

    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0
    expression: torch.Tensor | None = None
    expression_strength: float = 1.0
    ramp: bool = False


def with_length(vectors: torch.Tensor, num_frames: int) -> torch.Tensor:
    """The track cut or extended (last frame held) to `num_frames` frames."""
    if num_frames < 1:
        raise ValueError(f"number of frames must be at least 1; got {num_frames}")
    if num_frames <= vectors.shape[0]:
        return vectors[:num_frames]
    tail = vectors[-1:].expand(num_frames - vectors.shape[0], -1)
    return torch.cat([vectors, tail])


def edit_motion(vectors: torch.Tensor, edit: MotionEdit) -> torch.Tensor:
    """A new (N, 73) track with the edit applied (fully, or growing from 0 at the first frame with `ramp`)."""
    if vectors.dim() != 2 or vectors.shape[1] != SEMANTIC_DIM:
        raise ValueError(f"motion vectors must have shape (N, {SEMANTIC_DIM}); got {tuple(vectors.shape)}")
    count = vectors.shape[0]
    weight = torch.linspace(0.0, 1.0, count) if edit.ramp and count > 1 else torch.ones(count)
    weight = weight.to(vectors)[:, None]
    result = vectors.clone()
    offsets = torch.tensor([math.radians(edit.pitch), math.radians(edit.yaw), math.radians(edit.roll)]).to(vectors)
    result[:, ANGLES] += weight * offsets
    if edit.expression is not None:
        target = torch.as_tensor(edit.expression).to(vectors).reshape(-1)
        if target.shape[0] != POSE_START:
            raise ValueError(f"an expression vector has {POSE_START} values; got {target.shape[0]}")
        blend = weight * edit.expression_strength
        result[:, EXPRESSION] = result[:, EXPRESSION] + blend * (target - result[:, EXPRESSION])
    return result
