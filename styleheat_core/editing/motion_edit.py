"""Intuitive pose and expression edits of 73-d motion vectors (the official `intuitive_edit`, as a filter).

Columns: expression 0:64, angles 64:67 (Deep3D x = pitch, y = yaw, z = roll, radians),
translation 67:70, crop 70:73. The edit's weight over the frames follows a `StrengthSchedule`
(full weight 1), so edits can ramp in or be keyframed, as the official demo animates them.

Which of the 64 expression coefficients open the mouth or close the eyes depends on the BFM
expression basis, which is not public here; the blink / mouth-open helpers are therefore offsets
between the official intuitive-edit vectors (expression_eyes / expression_mouth minus
expression_center).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import torch

from ..preprocess.semantics import POSE_START, SEMANTIC_DIM
from .schedule import StrengthSchedule

EXPRESSION = slice(0, POSE_START)
ANGLES = slice(POSE_START, POSE_START + 3)
TRANSLATION = slice(POSE_START + 3, POSE_START + 6)
EXPRESSION_PRESETS = ("expression_center", "expression_mouth", "expression_eyebrow", "expression_eyes")
HELPER_PRESETS = {"blink": "expression_eyes", "mouth_open": "expression_mouth"}


@dataclass(frozen=True)
class MotionEdit:
    """Angle offsets in degrees (pitch, yaw, roll), translation offsets (x, y, z), an optional target expression
    blended in by `expression_strength`, and an optional expression offset added on top (see `helper_offset`)."""

    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0
    expression: torch.Tensor | None = None
    expression_strength: float = 1.0
    schedule: StrengthSchedule = field(default_factory=StrengthSchedule)
    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    expression_offset: torch.Tensor | None = None


def helper_offset(presets: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """Sum of weight * (official helper vector - expression_center) for helpers in HELPER_PRESETS ('blink', 'mouth_open')."""
    unknown = sorted(set(weights) - set(HELPER_PRESETS))
    if unknown:
        raise ValueError(f"unknown expression helpers {unknown}; choose from {sorted(HELPER_PRESETS)}")
    center = presets["expression_center"].float()
    offset = torch.zeros_like(center)
    for name, weight in weights.items():
        offset = offset + weight * (presets[HELPER_PRESETS[name]].float() - center)
    return offset


def with_length(vectors: torch.Tensor, num_frames: int) -> torch.Tensor:
    """The track cut or extended (last frame held) to `num_frames` frames."""
    if num_frames < 1:
        raise ValueError(f"number of frames must be at least 1; got {num_frames}")
    if num_frames <= vectors.shape[0]:
        return vectors[:num_frames]
    tail = vectors[-1:].expand(num_frames - vectors.shape[0], -1)
    return torch.cat([vectors, tail])


def edit_motion(vectors: torch.Tensor, edit: MotionEdit) -> torch.Tensor:
    """A new (N, 73) track with the edit applied, frame f weighted by `edit.schedule.value(f, N, 1.0)`."""
    if vectors.dim() != 2 or vectors.shape[1] != SEMANTIC_DIM:
        raise ValueError(f"motion vectors must have shape (N, {SEMANTIC_DIM}); got {tuple(vectors.shape)}")
    count = vectors.shape[0]
    weight = torch.tensor([edit.schedule.value(frame, count, 1.0) for frame in range(count)], dtype=torch.float64)
    weight = weight.to(vectors)[:, None]
    result = vectors.clone()
    offsets = torch.tensor([math.radians(edit.pitch), math.radians(edit.yaw), math.radians(edit.roll)]).to(vectors)
    result[:, ANGLES] += weight * offsets
    result[:, TRANSLATION] += weight * torch.tensor(edit.translation).to(vectors)
    if edit.expression is not None:
        target = _expression(edit.expression, vectors)
        blend = weight * edit.expression_strength
        result[:, EXPRESSION] = result[:, EXPRESSION] + blend * (target - result[:, EXPRESSION])
    if edit.expression_offset is not None:
        result[:, EXPRESSION] += weight * _expression(edit.expression_offset, vectors)
    return result


def _expression(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    vector = torch.as_tensor(value).to(like).reshape(-1)
    if vector.shape[0] != POSE_START:
        raise ValueError(f"an expression vector has {POSE_START} values; got {vector.shape[0]}")
    return vector
