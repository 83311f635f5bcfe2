"""Warp Features, Calibrate and StyleGAN Decode: the chunked per-frame renderer."""

from __future__ import annotations

from ..styleheat_core.pipeline.decode import OUTPUT_SIZES, WarpedFeatures, check_image_fits, decode_video, frame_range
from ..styleheat_core.pipeline.frame_clock import choose_fps
from ..styleheat_core.pipeline.motion import MotionSource
from ..styleheat_core.pipeline.source import SourceLatent
from . import comfy
from .types import CATEGORY, FEATURES, FLOW, LATENT, MOTION_MODELS, STYLEGAN
from .video import free_memory


class WarpFeatures:
    """Pair the source's 64x64 feature with the flows; warped per frame at Decode, a chunk at a time."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "latent": (LATENT, {"tooltip": "the inverted portrait (Invert, or Style Direction after it)"}),
                "flow": (FLOW, {"tooltip": "the motion: Video Flow, Audio Flow or Audio Lip Flow"}),
            }
        }

    RETURN_TYPES = (FEATURES,)
    RETURN_NAMES = ("warped_features",)  # wide enough that the frontend does not cut the title of a new node
    OUTPUT_TOOLTIPS = ("the source features with the motion, warped a chunk at a time when rendered",)
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(self, latent: SourceLatent, flow: MotionSource):
        return (WarpedFeatures(latent, flow),)


class Calibrate:
    """Refine the warped features with StyleHEAT's calibration network (fixes occlusions and warping artefacts)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "features": (FEATURES, {"tooltip": "warped features (Warp Features)"}),
                "motion_models": (MOTION_MODELS, {"tooltip": "the StyleHEAT motion networks (Load Motion Models), which hold the calibrator"}),
            }
        }

    RETURN_TYPES = (FEATURES,)
    RETURN_NAMES = ("features",)
    OUTPUT_TOOLTIPS = ("the warped features with calibration, for Decode or Render Video",)
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(self, features: WarpedFeatures, motion_models: comfy.ManagedModel):
        return (features.calibrated(motion_models),)


# Widgets shared by StyleGAN Decode and Render Video (one wording, one range).
FPS_INPUT = (
    "FLOAT",
    {"default": 0.0, "min": 0.0, "max": 240.0, "step": 0.01, "tooltip": "0 = the motion's frame rate (driving video or Audio Flow); another value overrides it, with a warning"},
)


def render_inputs(size_tooltip: str) -> dict:
    """The first widgets of Decode and Render Video, in their saved order: generator, features, size, chunk size."""
    return {
        "stylegan": (STYLEGAN, {"tooltip": "the StyleGAN2 generator (Load StyleGAN2)"}),
        "features": (FEATURES, {"tooltip": "warped features (Warp Features, optionally through Calibrate)"}),
        "size": ([str(s) for s in OUTPUT_SIZES], {"default": "1024", "tooltip": size_tooltip}),
        "chunk_size": ("INT", {"default": 4, "min": 1, "max": 64, "tooltip": "frames rendered at once (memory vs speed)"}),
    }


def frame_range_inputs(verb: str) -> dict:
    """start_frame / frame_count widgets: render part of the motion."""
    return {
        "start_frame": ("INT", {"default": 0, "min": 0, "max": 10**7, "tooltip": f"first frame to {verb}"}),
        "frame_count": ("INT", {"default": 0, "min": 0, "max": 10**7, "tooltip": f"frames to {verb}; 0 = to the end"}),
    }


class StyleGANDecode:
    """Render the frames as one IMAGE (1024² StyleGAN2 output, optionally downscaled), chunk by chunk with progress, for chaining
    with image nodes; passes audio and fps through. For whole videos use Render Video, which streams into a file at flat memory."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                **render_inputs("side of the output frames; StyleGAN2 renders 1024 and smaller sizes are downscaled"),
                "fps": FPS_INPUT,
            },
            "optional": {"audio": ("AUDIO", {"tooltip": "passed through so the saved video keeps its sound"}), **frame_range_inputs("decode")},
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = ("IMAGE", "AUDIO", "FLOAT")
    RETURN_NAMES = ("frames", "audio", "fps")
    OUTPUT_TOOLTIPS = ("the rendered frames", "the audio passed through", "the frame rate of the frames")
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(self, stylegan: comfy.ManagedModel, features: WarpedFeatures, size: str, chunk_size: int, fps: float, audio=None, start_frame=0, frame_count=0, node_id=None):
        frames = frame_range(features.num_frames, start_frame, frame_count)
        check_image_fits(frames, int(size), free_memory())
        chosen = choose_fps(features.fps, fps, len(frames), "StyleGAN Decode")
        generator, *_ = comfy.ready(stylegan, *features.models())
        images = decode_video(generator, features, int(size), chunk_size, comfy.progress(len(frames), node_id), frames)
        return (images, _audio_of(audio, frames, chosen), chosen)


def _audio_of(audio: dict | None, frames: range, fps: float) -> dict | None:
    """The part of the audio that plays during `frames` (all of it when the range starts at 0 and runs to the end)."""
    if audio is None or frames.start == 0:
        return audio
    rate = audio["sample_rate"]
    return {**audio, "waveform": audio["waveform"][..., round(frames.start / fps * rate) : round(frames.stop / fps * rate)]}


NODES = {
    "StyleHEAT_WarpFeatures": (WarpFeatures, "Warp Features"),
    "StyleHEAT_Calibrate": (Calibrate, "Calibrate"),
    "StyleHEAT_StyleGANDecode": (StyleGANDecode, "StyleGAN Decode"),
}
