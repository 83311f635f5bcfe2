"""Face Align (portrait), Video Crop and Paste Back nodes."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from ..styleheat_core.pipeline.decode import check_memory, image_bytes
from ..styleheat_core.pipeline.image_format import image_to_uint8, uint8_to_image
from ..styleheat_core.pipeline.render import ImageFrames, PasteBackPlan, VideoFrames
from ..styleheat_core.preprocess.ffhq_align import align_portrait
from ..styleheat_core.preprocess.landmarks import ON_MISSING
from ..styleheat_core.preprocess.paste_back import MASK_SHAPES
from ..styleheat_core.preprocess.video_crop import CROP_MODES, CropOptions, crop_video
from ..styleheat_core.preprocess.video_io import iter_video_frames, probe_video
from . import comfy
from .preview import show
from .types import CATEGORY, CROP, CropTransforms
from .video import checked_frames, free_memory, one_of, uint8_frames, video_file

# Frames pasted back in one batched call.
PASTE_CHUNK = 8

FACE_CATEGORY = f"{CATEGORY}/faces"


class FaceAlign:
    """FFHQ-align a portrait to a square crop (1024 for StyleGAN, 256 for the encoder), keeping the transform for Paste Back."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "the portrait; the first image of a batch is used"}),
                "size": (["1024", "512", "256"], {"default": "1024", "tooltip": "side of the FFHQ-aligned crop; Invert needs 1024 for full quality"}),
                "face_index": ("INT", {"default": 0, "min": 0, "max": 64, "tooltip": "0 = largest face, 1 = second largest, ..."}),
            }
        }

    RETURN_TYPES = ("IMAGE", CROP)
    RETURN_NAMES = ("aligned", "crop")
    OUTPUT_TOOLTIPS = ("the FFHQ-aligned face, for Invert", "where the crop came from, for Paste Back or Render Video")
    FUNCTION = "run"
    CATEGORY = FACE_CATEGORY
    DESCRIPTION = __doc__

    def run(self, image: torch.Tensor, size: str, face_index: int):
        if image.shape[0] != 1:
            raise ValueError(f"Face Align takes one portrait; got {image.shape[0]} images (use Video Crop for frames)")
        aligned = align_portrait(image_to_uint8(image)[0], size=int(size), face_index=face_index)
        crop = uint8_to_image(aligned.image[None])
        return {"ui": show(crop), "result": (crop, CropTransforms((aligned.transform,)))}


class VideoCrop:
    """Crop the face of every driving frame (VIDEO, decoded a frame at a time, or IMAGE): 'fixed' (official: one crop
    from the first frame) or 'tracked' (smoothed per frame)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "mode": (list(CROP_MODES), {"default": "fixed", "tooltip": "fixed: one box for the whole video (steady); tracked: a box per frame, smoothed"}),
                "size": (["256", "512", "1024"], {"default": "256", "tooltip": "side of each square crop"}),
                "smoothing": ("FLOAT", {"default": 2.0, "min": 0.0, "max": 20.0, "step": 0.5, "tooltip": "tracked mode: Gaussian sigma in frames"}),
                "face_index": ("INT", {"default": 0, "min": 0, "max": 64, "tooltip": "0 = largest face, 1 = second largest, ..."}),
                "on_missing": (list(ON_MISSING), {"default": "error", "tooltip": "a frame without a face: stop with an error, or reuse the last landmarks"}),
            },
            "optional": {
                "frames": ("IMAGE", {"tooltip": "driving frames as an IMAGE batch (or connect 'video' instead)"}),
                "video": ("VIDEO", {"tooltip": "the driving video (Load Video), decoded a frame at a time"}),
            },
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = ("IMAGE", CROP)
    RETURN_NAMES = ("crops", "crop")
    OUTPUT_TOOLTIPS = ("the cropped frames", "the crop of every frame, for Paste Back or Render Video")
    FUNCTION = "run"
    CATEGORY = FACE_CATEGORY
    DESCRIPTION = __doc__

    def run(self, frames=None, mode="fixed", size="256", smoothing=2.0, face_index=0, on_missing="error", video=None, node_id=None):
        one_of(frames, video, "frames", "video", "Video Crop")
        options = CropOptions(mode, int(size), smoothing, face_index, on_missing)
        if frames is not None:
            update = comfy.progress(checked_frames(frames, "frames", "Video Crop").shape[0], node_id)
            driving = uint8_frames(frames, update)
        else:
            source = video_file(video)
            update = comfy.progress(probe_video(source).frames, node_id)
            driving = _counted(iter_video_frames(source), update)
        result = crop_video(driving, options)
        crops = uint8_to_image(result.crops)
        return {"ui": show(crops), "result": (crops, CropTransforms(tuple(result.transforms)))}


def _counted(frames: Iterator[np.ndarray], update) -> Iterator[np.ndarray]:
    """The frames, moving the progress bar (and honouring Cancel) after each."""
    for index, frame in enumerate(frames):
        yield frame
        update(index + 1, None)


class PasteBack:
    """Put generated aligned frames back into the original image(s) or the driving video (read a chunk at a time) with a
    feathered face mask. For long videos, Render Video's paste-back streams straight into the file instead."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "generated": ("IMAGE", {"tooltip": "the generated aligned frames (StyleGAN Decode)"}),
                "crop": (CROP, {"tooltip": "the crop transform(s) from Face Align or Video Crop"}),
                "mask_shape": (list(MASK_SHAPES), {"default": "face", "tooltip": "region of the generated frame that replaces the original: the face oval or the whole crop"}),
                "feather": ("FLOAT", {"default": 0.06, "min": 0.01, "max": 0.25, "step": 0.01, "tooltip": "blur width, fraction of the crop side"}),
            },
            "optional": {
                "original": ("IMAGE", {"tooltip": "the portrait (one image) or the original video frames (or connect 'original_video')"}),
                "original_video": ("VIDEO", {"tooltip": "the original video (Load Video), read a chunk at a time"}),
            },
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("images", "mask")
    OUTPUT_TOOLTIPS = ("the original frames with the generated face pasted in", "where the generated face was blended in (1 = generated)")
    FUNCTION = "run"
    CATEGORY = FACE_CATEGORY
    DESCRIPTION = __doc__

    def run(self, original=None, generated=None, crop: CropTransforms | None = None, mask_shape="face", feather=0.06, original_video=None, node_id=None):
        one_of(original, original_video, "original", "original_video", "Paste Back")
        if generated is None or generated.dim() != 4 or generated.shape[0] == 0:
            shape = None if generated is None else tuple(generated.shape)
            raise ValueError(f"Paste Back got no generated frames (shape {shape}): connect the frames of StyleGAN Decode to 'generated'")
        count = generated.shape[0]
        originals = ImageFrames(checked_frames(original, "original", "Paste Back")) if original is not None else VideoFrames(video_file(original_video))
        plan = PasteBackPlan(originals, crop.transforms, mask_shape, feather)
        plan.check_covers(range(count), "original frames")
        height, width = originals.size
        check_memory(
            image_bytes(count, height, width) * 4 // 3, free_memory(), f"Paste Back would return {count} frames of {width}x{height} (IMAGE and MASK)",
            "Use Render Video with its crop / original inputs: it pastes back while streaming into a video file.",
        )
        images = torch.empty((count, height, width, 3), dtype=torch.float32)
        masks = torch.empty((count, height, width), dtype=torch.float32)
        update = comfy.progress(count, node_id)
        for start in range(0, count, PASTE_CHUNK):
            indices = list(range(start, min(start + PASTE_CHUNK, count)))
            faces = generated[start : indices[-1] + 1]
            if not torch.isfinite(faces).all():
                raise ValueError(f"Paste Back: generated frames {start}..{indices[-1]} contain NaN or infinite values; check the nodes that produced them")
            pasted, mask = plan.paste(torch.from_numpy(image_to_uint8(faces)), indices)
            images[start : start + len(indices)] = uint8_to_image(pasted.numpy())
            masks[start : start + len(indices)] = mask
            update(indices[-1] + 1, count)
        return (images, masks)


NODES = {
    "StyleHEAT_FaceAlign": (FaceAlign, "Face Align (portrait)"),
    "StyleHEAT_VideoCrop": (VideoCrop, "Video Crop"),
    "StyleHEAT_PasteBack": (PasteBack, "Paste Back"),
}
