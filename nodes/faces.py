"""Face Align (portrait), Video Crop and Paste Back nodes."""

from __future__ import annotations

import torch

from ..styleheat_core.pipeline.image_format import image_to_uint8, uint8_to_image
from ..styleheat_core.preprocess.ffhq_align import align_portrait
from ..styleheat_core.preprocess.landmarks import ON_MISSING
from ..styleheat_core.preprocess.paste_back import MASK_SHAPES, paste_back_frame
from ..styleheat_core.preprocess.video_crop import CROP_MODES, CropOptions, crop_video
from . import comfy
from .preview import show
from .types import CATEGORY, CROP, CropTransforms

FACE_CATEGORY = f"{CATEGORY}/faces"


class FaceAlign:
    """FFHQ-align a portrait to a square crop (1024 for StyleGAN, 256 for the encoder), keeping the transform for Paste Back."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE",),
                "size": (["1024", "512", "256"], {"default": "1024"}),
                "face_index": ("INT", {"default": 0, "min": 0, "max": 64, "tooltip": "0 = largest face, 1 = second largest, ..."}),
            }
        }

    RETURN_TYPES = ("IMAGE", CROP)
    RETURN_NAMES = ("aligned", "crop")
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
    """Crop the face of every video frame: 'fixed' (official: one crop from the first frame) or 'tracked' (smoothed per frame)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "frames": ("IMAGE",),
                "mode": (list(CROP_MODES), {"default": "fixed"}),
                "size": (["256", "512", "1024"], {"default": "256"}),
                "smoothing": ("FLOAT", {"default": 2.0, "min": 0.0, "max": 20.0, "step": 0.5, "tooltip": "tracked mode: Gaussian sigma in frames"}),
                "face_index": ("INT", {"default": 0, "min": 0, "max": 64}),
                "on_missing": (list(ON_MISSING), {"default": "error", "tooltip": "a frame without a face: stop with an error, or reuse the last landmarks"}),
            },
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = ("IMAGE", CROP)
    RETURN_NAMES = ("crops", "crop")
    FUNCTION = "run"
    CATEGORY = FACE_CATEGORY
    DESCRIPTION = __doc__

    def run(self, frames: torch.Tensor, mode: str, size: str, smoothing: float, face_index: int, on_missing: str, node_id=None):
        options = CropOptions(mode, int(size), smoothing, face_index, on_missing)
        result = crop_video(_frames_with_progress(frames, node_id), options)
        crops = uint8_to_image(result.crops)
        return {"ui": show(crops), "result": (crops, CropTransforms(tuple(result.transforms)))}


def _frames_with_progress(frames: torch.Tensor, node_id):
    """uint8 frames one at a time, moving the progress bar and honouring Cancel."""
    update = comfy.progress(frames.shape[0], node_id)
    for index in range(frames.shape[0]):
        yield image_to_uint8(frames[index : index + 1])[0]
        update(index + 1, frames.shape[0])


class PasteBack:
    """Put generated aligned frames back into the original image(s) with a feathered face mask."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "original": ("IMAGE", {"tooltip": "the portrait (one image) or the original video frames"}),
                "generated": ("IMAGE",),
                "crop": (CROP,),
                "mask_shape": (list(MASK_SHAPES), {"default": "face"}),
                "feather": ("FLOAT", {"default": 0.06, "min": 0.01, "max": 0.25, "step": 0.01, "tooltip": "blur width, fraction of the crop side"}),
            },
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("images", "mask")
    FUNCTION = "run"
    CATEGORY = FACE_CATEGORY
    DESCRIPTION = __doc__

    def run(self, original: torch.Tensor, generated: torch.Tensor, crop: CropTransforms, mask_shape: str, feather: float, node_id=None):
        count = generated.shape[0]
        for name, have in (("original images", original.shape[0]), ("crop transforms", len(crop.transforms))):
            if have not in (1, count):
                raise ValueError(f"Paste Back needs 1 or {count} {name} for {count} generated frames; got {have}")
        height, width = original.shape[1:3]
        images = torch.empty((count, height, width, 3), dtype=torch.float32)
        masks = torch.empty((count, height, width), dtype=torch.float32)
        update = comfy.progress(count, node_id)
        for i in range(count):
            frame = image_to_uint8(original[min(i, original.shape[0] - 1)][None])[0]
            face = image_to_uint8(generated[i][None])[0]
            pasted, mask = paste_back_frame(frame, face, crop.transforms[min(i, len(crop.transforms) - 1)], mask_shape, feather)
            images[i] = uint8_to_image(pasted[None])[0]
            masks[i] = torch.from_numpy(mask)
            update(i + 1, count)
        return (images, masks)


NODES = {
    "StyleHEAT_FaceAlign": (FaceAlign, "Face Align (portrait)"),
    "StyleHEAT_VideoCrop": (VideoCrop, "Video Crop"),
    "StyleHEAT_PasteBack": (PasteBack, "Paste Back"),
}
