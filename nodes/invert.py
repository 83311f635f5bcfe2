"""Invert: an aligned portrait -> STYLEHEAT_LATENT (W+ codes and the 64x64 feature)."""

from __future__ import annotations

import torch

from ..styleheat_core.editing.early_stop import EarlyStop
from ..styleheat_core.pipeline.image_format import image_to_network, network_to_image
from ..styleheat_core.pipeline.inversion import invert
from ..styleheat_core.pipeline.refine import refine_inversion
from ..styleheat_core.pipeline.source import SourceLatent
from . import comfy
from .preview import show_side_by_side
from .types import CATEGORY, ENCODER, LATENT, REFINER, STYLEGAN


class Invert:
    """Encode an FFHQ-aligned portrait into StyleGAN2 (e4e + HFGI), optionally refined by optimisation steps."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "stylegan": (STYLEGAN, {"tooltip": "from Load StyleGAN2"}),
                "encoder": (ENCODER, {"tooltip": "from Load Inversion Encoder (e4e + HFGI)"}),
                "portrait": ("IMAGE", {"tooltip": "one FFHQ-aligned portrait (Face Align)"}),
                "refine_steps": ("INT", {"default": 0, "min": 0, "max": 1000, "tooltip": "optimisation steps after encoding (needs a refiner); 0 = encode only"}),
            },
            "optional": {
                "refiner": (REFINER, {"tooltip": "from Load Inversion Refiner; needed when refine_steps > 0"}),
                "early_stop_patience": ("INT", {"default": 0, "min": 0, "max": 1000, "tooltip": "stop refining after this many steps without improvement; 0 = run every step (official)"}),
                "min_improvement": ("FLOAT", {"default": 0.001, "min": 0.0, "max": 0.5, "step": 0.0005, "tooltip": "relative loss decrease that counts as an improvement (0.001 = 0.1 %)"}),
            },
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = (LATENT, "IMAGE")
    RETURN_NAMES = ("latent", "reconstruction")
    OUTPUT_TOOLTIPS = (
        "the portrait in StyleGAN2 terms (W+ codes and the 64x64 feature), for Style Direction and Warp Features",
        "what StyleGAN2 makes of the portrait (256², the image the motion networks see); compare it with the input",
    )
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(self, stylegan, encoder, portrait: torch.Tensor, refine_steps: int, refiner=None, early_stop_patience=0, min_improvement=0.001, node_id=None):
        if portrait.shape[0] != 1:
            raise ValueError(f"Invert takes one portrait; got a batch of {portrait.shape[0]} images (pick one with an image-batch selector)")
        if portrait.shape[1] != portrait.shape[2]:
            raise ValueError(f"the portrait is {portrait.shape[2]}x{portrait.shape[1]}, not square: run it through Face Align first")
        if refine_steps > 0 and refiner is None:
            raise ValueError("refine_steps > 0 needs a refiner: connect Load Inversion Refiner, or set refine_steps to 0")
        handles = (stylegan, encoder) if refine_steps == 0 else (stylegan, encoder, refiner)
        generator, encoders, *loss = comfy.ready(*handles)
        source = image_to_network(portrait, "portrait")
        inversion = invert(generator, encoders, source)
        if refine_steps > 0:
            progress = comfy.progress(refine_steps, node_id)
            inversion = refine_inversion(
                generator,
                inversion,
                source,
                loss[0],
                refine_steps,
                on_step=lambda report: progress(report.step + 1, refine_steps),
                should_stop=comfy.interrupt_requested,
                early_stop=EarlyStop(early_stop_patience, min_improvement) if early_stop_patience > 0 else None,
            )
            comfy.check_interrupted()
        latent = SourceLatent(inversion, stylegan, encoder if refine_steps == 0 else None)
        reconstruction = network_to_image(inversion.image256)
        return {"ui": show_side_by_side(portrait, reconstruction), "result": (latent, reconstruction)}


NODES = {"StyleHEAT_Invert": (Invert, "Invert")}
