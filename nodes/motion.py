"""3DMM Extract, 3DMM Edit and Video Flow nodes: driving frames -> 73-d coefficients -> lazy flows."""

from __future__ import annotations

import os
from pathlib import Path

from ..styleheat_core.editing.intuitive import intuitive_sweep, sweep_length
from ..styleheat_core.editing.motion_edit import EXPRESSION_PRESETS, MotionEdit, edit_motion, helper_offset, with_length
from ..styleheat_core.editing.schedule import RAMP_TOGGLE, SCHEDULE_CHOICES, schedule_from_choice
from ..styleheat_core.pipeline.frame_clock import check_fps
from ..styleheat_core.pipeline.image_format import image_to_uint8
from ..styleheat_core.pipeline.motion import CoefficientMotion
from ..styleheat_core.preprocess.coefficients import portrait_coefficients
from ..styleheat_core.preprocess.landmarks import ON_MISSING
from ..styleheat_core.preprocess.motion import MotionOptions, extract_video_motion
from ..styleheat_core.preprocess.video_crop import CROP_MODES, CropOptions
from . import comfy
from .loaders import default_expression_presets
from .types import CATEGORY, COEFFS, DEEP3D, EXPRESSION_VECTORS, FLOW, MOTION_MODELS, CoefficientTrack, Deep3DModels, ExpressionPresets
from .video import checked_frames, image_digest, one_of, uint8_frames, video_file, video_fps

MOTION_CATEGORY = f"{CATEGORY}/motion"
INTUITIVE_SWEEP = "official intuitive sweep"
MOTION_PRESETS = ["none", INTUITIVE_SWEEP]
KEYFRAME_WEIGHTS = (-2.0, 2.0)  # weight of the whole 3DMM edit at a keyframe: 1 = full, negative = reversed


def cache_dir() -> Path:
    """Where extracted coefficients are cached between runs."""
    if comfy.folder_paths is not None:
        return Path(comfy.folder_paths.get_user_directory()) / "styleheat_cache"
    return Path(os.environ.get("STYLEHEAT_CACHE_DIR", Path.home() / ".cache" / "styleheat"))


class Extract3DMM:
    """Driving video (VIDEO, decoded a chunk at a time) or frames (IMAGE) -> per-frame 3DMM motion (expression, pose,
    translation, crop) with its frame rate, with the official crop or a tracked one."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "deep3d": (DEEP3D, {"tooltip": "the Deep3D reconstruction network and BFM landmarks (Load Deep3D)"}),
                "crop_mode": (list(CROP_MODES), {"default": "fixed", "tooltip": "fixed = official (first frame's crop); tracked = smoothed per frame"}),
                "expression_only": ("BOOLEAN", {"default": False, "tooltip": "drive the expression only; pose from the source portrait"}),
                "relative": ("BOOLEAN", {"default": False, "tooltip": "apply the driving changes since the first frame to the source's own motion"}),
                "smoothing": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 10.0, "step": 0.5, "tooltip": "temporal smoothing of the motion (Gaussian sigma in frames)"}),
                "face_index": ("INT", {"default": 0, "min": 0, "max": 64, "tooltip": "0 = largest face, 1 = second largest, ..."}),
                "on_missing": (list(ON_MISSING), {"default": "error", "tooltip": "a frame without a face: error stops and names the frame; carry_last reuses the last frame with a face"}),
            },
            "optional": {
                "source_portrait": ("IMAGE", {"tooltip": "the portrait being animated; needed by expression_only and relative"}),
                "frames": ("IMAGE", {"tooltip": "driving frames as an IMAGE batch, or one image (or connect 'video' instead)"}),
                "video": ("VIDEO", {"tooltip": "the driving video (Load Video), decoded a chunk at a time; its fps travels with the motion"}),
                "fps": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 240.0, "step": 0.01, "tooltip": "frame rate of 'frames' (e.g. Get Video Components' fps); 0 = unknown. A VIDEO brings its own"}),
            },
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = (COEFFS,)
    RETURN_NAMES = ("coefficients",)
    OUTPUT_TOOLTIPS = ("the motion track: 3DMM expression, pose and translation per frame",)
    FUNCTION = "run"
    CATEGORY = MOTION_CATEGORY
    DESCRIPTION = __doc__

    def run(self, deep3d: Deep3DModels, frames=None, crop_mode="fixed", expression_only=False, relative=False, smoothing=0.0, face_index=0,
            on_missing="error", source_portrait=None, video=None, fps=0.0, node_id=None):
        one_of(frames, video, "frames", "video", "3DMM Extract")
        if source_portrait is not None and source_portrait.shape[0] == 0:
            raise ValueError("'source_portrait' is an empty image batch: connect the portrait being animated (one image), or disconnect it")
        if (expression_only or relative) and source_portrait is None:
            raise ValueError("expression_only and relative need the source portrait: connect it to 'source_portrait', or switch both off")
        if frames is not None:
            checked_frames(frames, "frames", "3DMM Extract")
            total = int(frames.shape[0])
            driving, content, motion_fps = uint8_frames(frames), image_digest(frames), (check_fps(fps, "3DMM Extract fps") if fps else None)
        else:
            driving, content, total = video_file(video), None, None
            motion_fps = video_fps(driving)
        (net,) = comfy.ready(deep3d.network)
        source = None
        if source_portrait is not None:
            source = portrait_coefficients(image_to_uint8(source_portrait[:1])[0], net, deep3d.standard_landmarks).semantics[0]
        progress = comfy.progress(total or 1, node_id)
        motion = extract_video_motion(
            driving,
            net,
            deep3d.standard_landmarks,
            source=source,
            crop=CropOptions(crop_mode, face_index=face_index, on_missing=on_missing),
            options=MotionOptions(expression_only=expression_only, relative=relative, smoothing=smoothing),
            cache_dir=cache_dir(),
            on_progress=lambda done, count: progress(done, total or count or done),
            content_key=content,
        )
        return (CoefficientTrack(motion.semantics, source, motion_fps),)


class Edit3DMM:
    """Pose and expression edits of a motion track (official intuitive editing): angle and translation offsets,
    expression presets, blink / mouth-open, schedules and keyframes, and the official intuitive sweep."""

    @classmethod
    def INPUT_TYPES(cls):
        angle = {"default": 0.0, "min": -45.0, "max": 45.0, "step": 0.5}
        shift = {"default": 0.0, "min": -1.0, "max": 1.0, "step": 0.01}
        helper = {"default": 0.0, "min": -1.0, "max": 2.0, "step": 0.05}
        return {
            "required": {
                "coefficients": (COEFFS, {"tooltip": "the motion track to edit (3DMM Extract or Audio Flow)"}),
                "pitch": ("FLOAT", {**angle, "tooltip": "degrees, nod"}),
                "yaw": ("FLOAT", {**angle, "tooltip": "degrees, turn"}),
                "roll": ("FLOAT", {**angle, "tooltip": "degrees, tilt"}),
                "expression": (["keep", *EXPRESSION_PRESETS], {"default": "keep", "tooltip": "presets need intuitive_edit/expression.pth"}),
                "expression_strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 2.0, "step": 0.05, "tooltip": "how much of the expression preset to apply (1 = the preset as is)"}),
                "ramp": ("BOOLEAN", {"default": False, "tooltip": f"with schedule '{RAMP_TOGGLE}': grow the edit from nothing at the first frame to full at the last"}),
                "frames": ("INT", {"default": 0, "min": 0, "max": 10000, "tooltip": "0 = keep the length; else cut or hold the last frame (animate a still)"}),
            },
            "optional": {
                "translation_x": ("FLOAT", {**shift, "tooltip": "Deep3D translation offset (x)"}),
                "translation_y": ("FLOAT", {**shift, "tooltip": "Deep3D translation offset (y)"}),
                "translation_z": ("FLOAT", {**shift, "tooltip": "Deep3D translation offset (z)"}),
                "blink": ("FLOAT", {**helper, "tooltip": "adds the official expression_eyes - expression_center offset (needs intuitive_edit/expression.pth)"}),
                "mouth_open": ("FLOAT", {**helper, "tooltip": "adds the official expression_mouth - expression_center offset (needs intuitive_edit/expression.pth)"}),
                "schedule": (list(SCHEDULE_CHOICES), {"default": RAMP_TOGGLE, "tooltip": "weight of the edit over the frames (0 = none, 1 = full)"}),
                "keyframes": ("STRING", {"default": "0:0, 24:1", "tooltip": "schedule 'keyframes': frame:weight pairs (-2..2; 1 = the full edit), linear in between, held outside"}),
                "preset": (MOTION_PRESETS, {"default": MOTION_PRESETS[0], "tooltip": f"'{INTUITIVE_SWEEP}': the official {sweep_length()}-frame rotation + expression sweep of the first frame (needs intuitive_edit/expression.pth); the edits above apply on top"}),
                "expression_presets": (EXPRESSION_VECTORS, {"tooltip": "the official expression vectors from Load Expression Presets; unconnected, intuitive_edit/expression.pth is used"}),
            },
        }

    RETURN_TYPES = (COEFFS,)
    RETURN_NAMES = ("coefficients",)
    OUTPUT_TOOLTIPS = ("the motion track: 3DMM expression, pose and translation per frame",)
    FUNCTION = "run"
    CATEGORY = MOTION_CATEGORY
    DESCRIPTION = __doc__

    def run(
        self, coefficients: CoefficientTrack, pitch, yaw, roll, expression, expression_strength, ramp, frames,
        translation_x=0.0, translation_y=0.0, translation_z=0.0, blink=0.0, mouth_open=0.0, schedule=RAMP_TOGGLE, keyframes="", preset=MOTION_PRESETS[0],
        expression_presets: ExpressionPresets | None = None,
    ):
        if preset not in MOTION_PRESETS:
            raise ValueError(f"unknown preset '{preset}'; choose one of {MOTION_PRESETS}")
        helpers = {name: weight for name, weight in (("blink", blink), ("mouth_open", mouth_open)) if weight != 0}
        needs_presets = expression != "keep" or helpers or preset == INTUITIVE_SWEEP
        presets = (expression_presets or default_expression_presets()).vectors if needs_presets else {}
        vectors = intuitive_sweep(coefficients.vectors[0], presets) if preset == INTUITIVE_SWEEP else coefficients.vectors
        vectors = vectors if frames == 0 else with_length(vectors, frames)
        edit = MotionEdit(
            pitch, yaw, roll,
            expression=presets[expression] if expression != "keep" else None,
            expression_strength=expression_strength,
            schedule=schedule_from_choice(schedule, ramp, keyframes, KEYFRAME_WEIGHTS),
            translation=(translation_x, translation_y, translation_z),
            expression_offset=helper_offset(presets, helpers) if helpers else None,
        )
        return (CoefficientTrack(edit_motion(vectors, edit), coefficients.source),)


class VideoFlow:
    """Coefficients -> per-frame flow fields of the 64x64 feature (the video warper); computed lazily at Decode."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "motion_models": (MOTION_MODELS, {"tooltip": "the StyleHEAT motion networks (Load Motion Models)"}),
                "coefficients": (COEFFS, {"tooltip": "the motion track (3DMM Extract, 3DMM Edit or Audio Flow)"}),
            }
        }

    RETURN_TYPES = (FLOW,)
    RETURN_NAMES = ("flow",)
    OUTPUT_TOOLTIPS = ("flow fields of the 64x64 feature, one per frame, for Warp Features",)
    FUNCTION = "run"
    CATEGORY = MOTION_CATEGORY
    DESCRIPTION = __doc__

    def run(self, motion_models: comfy.ManagedModel, coefficients: CoefficientTrack):
        return (CoefficientMotion(motion_models, coefficients.vectors, coefficients.fps),)


NODES = {
    "StyleHEAT_3DMMExtract": (Extract3DMM, "3DMM Extract"),
    "StyleHEAT_3DMMEdit": (Edit3DMM, "3DMM Edit"),
    "StyleHEAT_VideoFlow": (VideoFlow, "Video Flow"),
}
