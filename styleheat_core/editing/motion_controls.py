"""LivePortrait-style controls over a 73-d motion track: how strongly and how (relative or absolute) the
driving expression and pose reach the portrait, eye and mouth multipliers, and temporal smoothing.

Every control works around a reference vector: the source portrait's own motion when it is known,
else the track's first frame. 'relative' applies the driving change since the first frame to the
reference (the portrait keeps its own expression or pose and moves as the driver moves); 'absolute'
takes the driving values as they are. A strength s maps a value v to r + s (v - r), so 0 freezes
that component at the reference, 1 keeps it and 2 doubles it.

Which of the 64 expression coefficients move the eyes or the mouth depends on the BFM basis, so the
eye and mouth multipliers act along the official intuitive-edit vectors (expression_eyes and
expression_mouth minus expression_center, as `helper_offset` gives them): the part of the
expression change along each of those directions is scaled; the rest of the expression is untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from ..preprocess.semantics import POSE_START, SEMANTIC_DIM
from ..preprocess.temporal import smooth_sequence
from .motion_edit import EXPRESSION, helper_offset

POSE = slice(POSE_START, POSE_START + 6)  # angles and translation; the crop columns 70:73 follow the driver
DRIVING_MODES = ("relative", "absolute")
# widget -> (lowest, highest) accepted value
LIMITS = {
    "expression_strength": (0.0, 3.0),
    "pose_strength": (0.0, 3.0),
    "eyes": (0.0, 3.0),
    "mouth": (0.0, 3.0),
    "smoothing": (0.0, 20.0),
}


@dataclass(frozen=True)
class MotionControls:
    """The controls; each number is checked (finite, within LIMITS) when the value is made."""

    expression_strength: float = 1.0
    pose_strength: float = 1.0
    expression_mode: str = "absolute"
    pose_mode: str = "absolute"
    eyes: float = 1.0
    mouth: float = 1.0
    smoothing: float = 0.0

    def __post_init__(self):
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number between {low} and {high}; got {value}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}; got {value}")
        for name in ("expression_mode", "pose_mode"):
            if getattr(self, name) not in DRIVING_MODES:
                raise ValueError(f"{name} must be one of {DRIVING_MODES}; got '{getattr(self, name)}'")

    @property
    def needs_expression_vectors(self) -> bool:
        return self.eyes != 1.0 or self.mouth != 1.0


def feature_directions(presets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """(2, 64) orthonormal eye and mouth directions from the official vectors (mouth made orthogonal to the eyes)."""
    eyes = helper_offset(presets, {"blink": 1.0})
    mouth = helper_offset(presets, {"mouth_open": 1.0})
    if float(eyes.norm()) == 0.0 or float(mouth.norm()) == 0.0:
        raise ValueError("the expression vectors give no eye or mouth direction (expression_eyes or expression_mouth equals expression_center)")
    eyes = eyes / eyes.norm()
    mouth = mouth - (mouth @ eyes) * eyes
    if float(mouth.norm()) < 1e-6:
        raise ValueError("the official eye and mouth directions are parallel; eye and mouth multipliers cannot be told apart")
    return torch.stack([eyes, mouth / mouth.norm()])


def control_motion(
    vectors: torch.Tensor, controls: MotionControls, source: torch.Tensor | None = None, presets: Mapping[str, torch.Tensor] | None = None
) -> torch.Tensor:
    """A new (N, 73) track: driving modes, then strengths, then eye / mouth multipliers, then smoothing."""
    vectors = torch.as_tensor(vectors, dtype=torch.float32)
    if vectors.dim() != 2 or vectors.shape[1] != SEMANTIC_DIM or vectors.shape[0] == 0:
        raise ValueError(f"motion vectors must have shape (N >= 1, {SEMANTIC_DIM}); got {tuple(vectors.shape)}")
    relative = "relative" in (controls.expression_mode, controls.pose_mode)
    if relative and source is None:
        raise ValueError(
            "relative driving needs the source portrait's own motion: connect the portrait to 3DMM Extract's 'source_portrait', "
            "or set expression_mode and pose_mode to absolute"
        )
    reference = vectors[0] if source is None else torch.as_tensor(source, dtype=torch.float32).reshape(-1)
    if reference.shape[0] != SEMANTIC_DIM:
        raise ValueError(f"the source vector must have {SEMANTIC_DIM} values; got {reference.shape[0]}")
    result = vectors.clone()
    for part, mode, strength in ((EXPRESSION, controls.expression_mode, controls.expression_strength), (POSE, controls.pose_mode, controls.pose_strength)):
        if mode == "relative":
            result[:, part] = reference[part] + strength * (vectors[:, part] - vectors[:1, part])
        elif strength != 1.0:  # written so that strength 1 returns the driving values bit for bit
            result[:, part] = vectors[:, part] + (strength - 1.0) * (vectors[:, part] - reference[part])
    if controls.needs_expression_vectors:
        if presets is None:
            raise ValueError("eye and mouth multipliers need the official expression vectors (intuitive_edit/expression.pth)")
        directions = feature_directions(presets)
        change = result[:, EXPRESSION] - reference[EXPRESSION]
        along = change @ directions.T  # (N, 2): eye and mouth coordinates of the expression change
        scale = torch.tensor([controls.eyes - 1.0, controls.mouth - 1.0])
        result[:, EXPRESSION] = result[:, EXPRESSION] + (along * scale) @ directions
    if controls.smoothing > 0:
        result = torch.from_numpy(smooth_sequence(result.numpy(), controls.smoothing)).float()
    return result
