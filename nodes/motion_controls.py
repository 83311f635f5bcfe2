"""Motion Controls: LivePortrait-style strength, relative/absolute driving, eye/mouth multipliers and smoothing of a 3DMM track."""

from __future__ import annotations

from ..styleheat_core.editing.motion_controls import DRIVING_MODES, LIMITS, MotionControls, control_motion
from .loaders import default_expression_presets
from .motion import MOTION_CATEGORY
from .types import COEFFS, EXPRESSION_VECTORS, CoefficientTrack, ExpressionPresets


def _multiplier(name: str, tooltip: str, step: float = 0.05) -> tuple:
    low, high = LIMITS[name]
    return ("FLOAT", {"default": 0.0 if name == "smoothing" else 1.0, "min": low, "max": high, "step": step, "tooltip": tooltip})


class MotionControlsNode:
    """How the driving motion reaches the portrait: expression and pose strength, each relative or absolute,
    eye and mouth multipliers (along the official expression vectors) and temporal smoothing."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "coefficients": (COEFFS, {"tooltip": "the driving motion, from 3DMM Extract, Audio Flow or 3DMM Edit"}),
                "expression_strength": _multiplier("expression_strength", "how strongly the driving expression moves the face: 0 = the portrait's own, 1 = as driven, 2 = doubled"),
                "pose_strength": _multiplier("pose_strength", "how strongly the driving head rotation and translation move the head: 0 = still, 1 = as driven"),
                "expression_mode": (list(DRIVING_MODES), {"default": "absolute", "tooltip": "relative: the portrait keeps its own expression and follows the driver's changes since the first frame; absolute: the driver's expression as it is"}),
                "pose_mode": (list(DRIVING_MODES), {"default": "absolute", "tooltip": "relative: the portrait keeps its own head pose and follows the driver's changes since the first frame; absolute: the driver's pose as it is"}),
                "eyes": _multiplier("eyes", "eye motion multiplier along the official expression_eyes vector: 0 = eyes as in the reference, 1 = as driven"),
                "mouth": _multiplier("mouth", "mouth motion multiplier along the official expression_mouth vector: 0 = mouth as in the reference, 1 = as driven"),
                "smoothing": _multiplier("smoothing", "temporal smoothing of the result (Gaussian sigma in frames; 0 = off)", step=0.5),
            },
            "optional": {
                "expression_presets": (EXPRESSION_VECTORS, {"tooltip": "the official expression vectors (Load Expression Presets); unconnected, intuitive_edit/expression.pth is read when eyes or mouth is not 1"}),
            },
        }

    RETURN_TYPES = (COEFFS,)
    RETURN_NAMES = ("coefficients",)
    OUTPUT_TOOLTIPS = ("the controlled motion track (same length), for Video Flow",)
    FUNCTION = "run"
    CATEGORY = MOTION_CATEGORY
    DESCRIPTION = __doc__

    def run(
        self, coefficients: CoefficientTrack, expression_strength, pose_strength, expression_mode, pose_mode, eyes, mouth, smoothing,
        expression_presets: ExpressionPresets | None = None,
    ):
        controls = MotionControls(expression_strength, pose_strength, expression_mode, pose_mode, eyes, mouth, smoothing)
        presets = None
        if controls.needs_expression_vectors:
            presets = (expression_presets or default_expression_presets()).vectors
        return (CoefficientTrack(control_motion(coefficients.vectors, controls, coefficients.source, presets), coefficients.source),)


NODES = {"StyleHEAT_MotionControls": (MotionControlsNode, "Motion Controls")}
