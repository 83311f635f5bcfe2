"""3DMM Extract, 3DMM Edit and Video Flow nodes: driving frames -> 73-d coefficients -> lazy flows."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..styleheat_core.editing.motion_edit import EXPRESSION_PRESETS, MotionEdit, edit_motion, with_length
from ..styleheat_core.io.loaders import load_expression_presets
from ..styleheat_core.pipeline.motion import CoefficientMotion, compose
from ..styleheat_core.pipeline.reenactment import MotionNetworks
from ..styleheat_core.preprocess.coefficients import portrait_coefficients
from ..styleheat_core.preprocess.motion import MotionOptions, extract_video_motion
from ..styleheat_core.preprocess.video_crop import CROP_MODES, CropOptions
from . import comfy
from .faces import ON_MISSING, to_uint8
from .types import CATEGORY, COEFFS, DEEP3D, FLOW, MOTION_MODELS, CoefficientTrack, Deep3DModels

MOTION_CATEGORY = f"{CATEGORY}/motion"


def cache_dir() -> Path:
    """Where extracted coefficients are cached between runs."""
    if comfy.folder_paths is not None:
        return Path(comfy.folder_paths.get_user_directory()) / "styleheat_cache"
    return Path(os.environ.get("STYLEHEAT_CACHE_DIR", Path.home() / ".cache" / "styleheat"))


class Extract3DMM:
    """Driving frames -> per-frame 3DMM motion (expression, pose, translation, crop), with the official crop or a tracked one."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "deep3d": (DEEP3D,),
                "frames": ("IMAGE", {"tooltip": "driving video frames (an IMAGE batch) or one image"}),
                "crop_mode": (list(CROP_MODES), {"default": "fixed", "tooltip": "fixed = official (first frame's crop); tracked = smoothed per frame"}),
                "expression_only": ("BOOLEAN", {"default": False, "tooltip": "drive the expression only; pose from the source portrait"}),
                "relative": ("BOOLEAN", {"default": False, "tooltip": "apply the driving changes since the first frame to the source's own motion"}),
                "smoothing": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 10.0, "step": 0.5, "tooltip": "temporal smoothing of the motion (Gaussian sigma in frames)"}),
                "face_index": ("INT", {"default": 0, "min": 0, "max": 64}),
                "on_missing": (ON_MISSING, {"default": "error"}),
            },
            "optional": {"source_portrait": ("IMAGE", {"tooltip": "the portrait being animated; needed by expression_only and relative"})},
        }

    RETURN_TYPES = (COEFFS,)
    RETURN_NAMES = ("coefficients",)
    FUNCTION = "run"
    CATEGORY = MOTION_CATEGORY
    DESCRIPTION = __doc__

    def run(self, deep3d: Deep3DModels, frames, crop_mode, expression_only, relative, smoothing, face_index, on_missing, source_portrait=None):
        if (expression_only or relative) and source_portrait is None:
            raise ValueError("expression_only and relative need the source portrait: connect it to 'source_portrait', or switch both off")
        net = deep3d.network.ready()
        source = None
        if source_portrait is not None:
            source = portrait_coefficients(to_uint8(source_portrait[:1])[0], net, deep3d.standard_landmarks).semantics[0]
        comfy.check_interrupted()
        motion = extract_video_motion(
            to_uint8(frames),
            net,
            deep3d.standard_landmarks,
            source=source,
            crop=CropOptions(crop_mode, face_index=face_index, on_missing=on_missing),
            options=MotionOptions(expression_only=expression_only, relative=relative, smoothing=smoothing),
            cache_dir=cache_dir(),
        )
        return (CoefficientTrack(motion.semantics, source),)


class Edit3DMM:
    """Pose and expression edits of a motion track (official intuitive editing): angle offsets, expression presets, ramps."""

    @classmethod
    def INPUT_TYPES(cls):
        angle = {"default": 0.0, "min": -45.0, "max": 45.0, "step": 0.5}
        return {
            "required": {
                "coefficients": (COEFFS,),
                "pitch": ("FLOAT", {**angle, "tooltip": "degrees, nod"}),
                "yaw": ("FLOAT", {**angle, "tooltip": "degrees, turn"}),
                "roll": ("FLOAT", {**angle, "tooltip": "degrees, tilt"}),
                "expression": (["keep", *EXPRESSION_PRESETS], {"default": "keep", "tooltip": "presets need intuitive_edit/expression.pth"}),
                "expression_strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 2.0, "step": 0.05}),
                "ramp": ("BOOLEAN", {"default": False, "tooltip": "grow the edit from nothing at the first frame to full at the last"}),
                "frames": ("INT", {"default": 0, "min": 0, "max": 10000, "tooltip": "0 = keep the length; else cut or hold the last frame (animate a still)"}),
            }
        }

    RETURN_TYPES = (COEFFS,)
    RETURN_NAMES = ("coefficients",)
    FUNCTION = "run"
    CATEGORY = MOTION_CATEGORY
    DESCRIPTION = __doc__

    def run(self, coefficients: CoefficientTrack, pitch, yaw, roll, expression, expression_strength, ramp, frames):
        vectors = coefficients.vectors if frames == 0 else with_length(coefficients.vectors, frames)
        target = None
        if expression != "keep":
            target = load_expression_presets(comfy.resolve("intuitive_edit/expression.pth", "expression_presets"))[expression]
        edit = MotionEdit(pitch, yaw, roll, target, expression_strength, ramp)
        return (CoefficientTrack(edit_motion(vectors, edit), coefficients.source),)


class VideoFlow:
    """Coefficients -> per-frame flow fields of the 64x64 feature (the video warper); computed lazily at Decode."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"motion_models": (MOTION_MODELS,), "coefficients": (COEFFS,)}, "optional": {"then": (FLOW, {"tooltip": "a flow to apply after this one (e.g. Audio Flow for the lips)"})}}

    RETURN_TYPES = (FLOW,)
    RETURN_NAMES = ("flow",)
    FUNCTION = "run"
    CATEGORY = MOTION_CATEGORY
    DESCRIPTION = __doc__

    def run(self, motion_models: comfy.ManagedModel, coefficients: CoefficientTrack, then=None):
        bundle = motion_models.ready()
        motion = CoefficientMotion(MotionNetworks(bundle["video_warper"], bundle["calibrator"]), coefficients.vectors)
        return (motion if then is None else compose(motion, then),)


NODES = {
    "StyleHEAT_3DMMExtract": (Extract3DMM, "StyleHEAT 3DMM Extract"),
    "StyleHEAT_3DMMEdit": (Edit3DMM, "StyleHEAT 3DMM Edit (pose / expression)"),
    "StyleHEAT_VideoFlow": (VideoFlow, "StyleHEAT Video Flow"),
}
