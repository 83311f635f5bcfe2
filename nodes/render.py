"""Warp Features, Calibrate and StyleGAN Decode: the chunked per-frame renderer."""

from __future__ import annotations

from ..styleheat_core.pipeline.decode import OUTPUT_SIZES, WarpedFeatures, decode_video
from ..styleheat_core.pipeline.motion import MotionSource
from ..styleheat_core.pipeline.source import SourceLatent
from . import comfy
from .types import CATEGORY, FEATURES, FLOW, LATENT, MOTION_MODELS, STYLEGAN


class WarpFeatures:
    """Pair the source's 64x64 feature with the flows; warped per frame at Decode, a chunk at a time."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"latent": (LATENT,), "flow": (FLOW,)}}

    RETURN_TYPES = (FEATURES,)
    RETURN_NAMES = ("warped_features",)  # wide enough that the frontend does not cut the title of a new node
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(self, latent: SourceLatent, flow: MotionSource):
        return (WarpedFeatures(latent, flow),)


class Calibrate:
    """Refine the warped features with StyleHEAT's calibration network (fixes occlusions and warping artefacts)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"features": (FEATURES,), "motion_models": (MOTION_MODELS,)}}

    RETURN_TYPES = (FEATURES,)
    RETURN_NAMES = ("features",)
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(self, features: WarpedFeatures, motion_models: comfy.ManagedModel):
        return (features.calibrated(motion_models),)


class StyleGANDecode:
    """Render the frames (1024² StyleGAN2 output, optionally downscaled), chunk by chunk with progress; passes audio and fps through."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "stylegan": (STYLEGAN,),
                "features": (FEATURES,),
                "size": ([str(s) for s in OUTPUT_SIZES], {"default": "1024"}),
                "chunk_size": ("INT", {"default": 4, "min": 1, "max": 64, "tooltip": "frames rendered at once (memory vs speed)"}),
                "fps": ("FLOAT", {"default": 25.0, "min": 1.0, "max": 240.0, "step": 0.01, "tooltip": "frame rate of the driving video"}),
            },
            "optional": {"audio": ("AUDIO", {"tooltip": "passed through so the saved video keeps its sound"})},
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = ("IMAGE", "AUDIO", "FLOAT")
    RETURN_NAMES = ("frames", "audio", "fps")
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(self, stylegan: comfy.ManagedModel, features: WarpedFeatures, size: str, chunk_size: int, fps: float, audio=None, node_id=None):
        generator, *_ = comfy.ready(stylegan, *features.models())
        total = features.num_frames
        frames = decode_video(generator, features, int(size), chunk_size, comfy.progress(total, node_id))
        return (frames, audio, fps)


NODES = {
    "StyleHEAT_WarpFeatures": (WarpFeatures, "Warp Features"),
    "StyleHEAT_Calibrate": (Calibrate, "Calibrate"),
    "StyleHEAT_StyleGANDecode": (StyleGANDecode, "StyleGAN Decode"),
}
