"""On-node previews, as core PreviewImage shows them (PNGs in ComfyUI's temp folder, listed in the node's `ui`),
and Preview Frames: a few chosen frames of any latent + flow instead of the whole video."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import torch
from PIL import Image

from ..styleheat_core.pipeline.decode import WarpedFeatures
from ..styleheat_core.pipeline.image_format import image_to_uint8
from ..styleheat_core.pipeline.preview import (
    PREVIEW_MODES,
    STRIP_FRAMES,
    choose_frames,
    render_preview,
    side_by_side,
    spread_sample,
    strip,
    warning_banner,
)
from . import comfy
from .types import CATEGORY, FLOW, LATENT, MOTION_MODELS, STYLEGAN

PREVIEW_HEIGHT = 256
log = logging.getLogger(__name__)


def temp_directory() -> Path | None:
    """ComfyUI's temp folder (what PreviewImage writes to); None outside ComfyUI, where nothing is shown."""
    return None if comfy.folder_paths is None else Path(comfy.folder_paths.get_temp_directory())


def temp_images(images: torch.Tensor) -> list[dict]:
    """Save an IMAGE batch as PNGs in ComfyUI's temp folder; the `ui` entries that show them ([] outside ComfyUI)."""
    folder = temp_directory()
    if folder is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    shown = []
    for picture in image_to_uint8(images):
        name = f"styleheat_preview_{uuid.uuid4().hex[:16]}.png"
        partial = folder / f".{name}.part"
        Image.fromarray(picture).save(partial, format="PNG", compress_level=1)
        os.replace(partial, folder / name)
        shown.append({"filename": name, "subfolder": "", "type": "temp"})
    return shown


def show(images: torch.Tensor) -> dict:
    """The `ui` value showing up to 4 images of a batch, spread over it, as one labelled strip."""
    if images.shape[0] == 1:
        return {"images": temp_images(side_by_side([images], PREVIEW_HEIGHT, 0))}
    sample, indices = spread_sample(images)
    return {"images": temp_images(strip(sample, [f"frame {i}" for i in indices], PREVIEW_HEIGHT))}


def show_side_by_side(*images: torch.Tensor) -> dict:
    """The `ui` value showing the first image of each batch side by side (e.g. input and reconstruction)."""
    return {"images": temp_images(side_by_side(list(images), PREVIEW_HEIGHT))}


class PreviewFrames:
    """Render only a few frames of a latent driven by a flow: one frame, or a strip spread over the clip.
    Put it after an edit: moving the edit's slider then re-renders these frames, not the video."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "stylegan": (STYLEGAN, {"tooltip": "the StyleGAN2 generator (Load StyleGAN2)"}),
                "latent": (LATENT, {"tooltip": "the inverted portrait, edited or not (Invert, Style Direction)"}),
                "flow": (FLOW, {"tooltip": "the motion (Video Flow, Audio Flow, Audio Lip Flow)"}),
                "mode": (list(PREVIEW_MODES), {"default": "strip", "tooltip": "strip: a few frames spread from the first to the last; frame: the one frame below"}),
                "frame": ("INT", {"default": 0, "min": 0, "max": 100000, "tooltip": "mode 'frame': which frame (0 = first); past the end it is clamped, with a warning on the preview"}),
                "count": ("INT", {"default": 4, "min": STRIP_FRAMES[0], "max": STRIP_FRAMES[1], "tooltip": "mode 'strip': how many frames"}),
                "size": (["256", "512", "1024"], {"default": "256", "tooltip": "size of the returned frames (the preview is always 256 px high)"}),
            },
            "optional": {
                "motion_models": (MOTION_MODELS, {"tooltip": "connect Load Motion Models to calibrate the frames, as Calibrate does before Decode"}),
            },
        }

    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("frames",)
    OUTPUT_TOOLTIPS = ("the rendered preview frames (B, size, size, 3), in frame order",)
    OUTPUT_NODE = True
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(self, stylegan, latent, flow, mode: str, frame: int, count: int, size: str, motion_models=None):
        features = WarpedFeatures(latent, flow)
        if motion_models is not None:
            features = features.calibrated(motion_models)
        choice = choose_frames(features.num_frames, mode, frame, count)
        generator, *_ = comfy.ready(stylegan, *features.models())
        frames = render_preview(generator, features, choice, int(size))
        picture = strip(frames, [f"frame {i}" for i in choice.frames], PREVIEW_HEIGHT)
        if choice.warning is not None:
            log.warning("Preview Frames: %s", choice.warning)
            picture = warning_banner(picture, choice.warning)
        return {"ui": {"images": temp_images(picture)}, "result": (frames,)}


NODES = {"StyleHEAT_PreviewFrames": (PreviewFrames, "Preview Frames")}
