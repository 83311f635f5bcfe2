"""StyleHEAT Invert: an aligned portrait -> STYLEHEAT_LATENT (W+ codes and the 64x64 feature)."""

from __future__ import annotations

import torch

from ..styleheat_core.editing.early_stop import EarlyStop
from ..styleheat_core.editing.optimize_inversion import optimize_inversion
from ..styleheat_core.pipeline.inversion import ENCODER_SIZE, Inversion, InversionNetworks, invert, resize
from ..styleheat_core.pipeline.source import SourceLatent
from . import comfy
from .images import image_to_tensor
from .types import CATEGORY, ENCODER, LATENT, REFINER, STYLEGAN


def inversion_networks(stylegan: comfy.ManagedModel, encoder: comfy.ManagedModel) -> InversionNetworks:
    """The encode-inversion networks from the two loader outputs, on the compute device."""
    generator = stylegan.ready()
    bundle = encoder.ready()
    return InversionNetworks(generator, bundle["e4e"], bundle.latent_avg, bundle["aligner"], bundle["residual_encoder"])


class Invert:
    """Encode an FFHQ-aligned portrait into StyleGAN2 (e4e + HFGI), optionally refined by optimisation steps."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "stylegan": (STYLEGAN,),
                "encoder": (ENCODER,),
                "portrait": ("IMAGE", {"tooltip": "one FFHQ-aligned portrait (StyleHEAT Face Align)"}),
                "refine_steps": ("INT", {"default": 0, "min": 0, "max": 1000, "tooltip": "optimisation steps after encoding (needs a refiner); 0 = encode only"}),
            },
            "optional": {
                "refiner": (REFINER,),
                "early_stop_patience": ("INT", {"default": 0, "min": 0, "max": 1000, "tooltip": "stop refining after this many steps without improvement; 0 = run every step (official)"}),
                "min_improvement": ("FLOAT", {"default": 0.001, "min": 0.0, "max": 0.5, "step": 0.0005, "tooltip": "relative loss decrease that counts as an improvement (0.001 = 0.1 %)"}),
            },
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = (LATENT, "IMAGE")
    RETURN_NAMES = ("latent", "reconstruction")
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(self, stylegan, encoder, portrait: torch.Tensor, refine_steps: int, refiner=None, early_stop_patience=0, min_improvement=0.001, node_id=None):
        if portrait.shape[0] != 1:
            raise ValueError(f"StyleHEAT Invert takes one portrait; got a batch of {portrait.shape[0]} images (pick one with an image-batch selector)")
        if refine_steps > 0 and refiner is None:
            raise ValueError("refine_steps > 0 needs a refiner: connect StyleHEAT Load Inversion Refiner, or set refine_steps to 0")
        nets = inversion_networks(stylegan, encoder)
        param = next(nets.generator.parameters())
        source = image_to_tensor(portrait, "portrait").to(param.device, param.dtype)
        inversion = invert(nets, source)
        if refine_steps > 0:
            early_stop = EarlyStop(early_stop_patience, min_improvement) if early_stop_patience > 0 else None
            progress = comfy.progress(refine_steps, node_id)
            inversion = _refine(nets, inversion, resize(source, ENCODER_SIZE), refiner.ready(), refine_steps, progress, early_stop)
        reconstruction = ((inversion.image256.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu()
        return (SourceLatent(inversion, nets), reconstruction)


def interrupt_requested() -> bool:
    """Whether ComfyUI's Cancel was pressed (without clearing it: `comfy.check_interrupted` raises on it afterwards)."""
    management = comfy.model_management
    return management is not None and management.processing_interrupted()


def _refine(nets: InversionNetworks, inversion: Inversion, source256: torch.Tensor, loss, steps: int, progress, early_stop: EarlyStop | None) -> Inversion:
    """The official optimisation inversion (float32, with gradients) from the encoder result towards the source.

    Cancel ends the loop after the current step (`should_stop`) and then raises ComfyUI's interrupt."""
    generator = nets.generator
    dtype = next(generator.parameters()).dtype
    generator.float()
    try:
        with torch.enable_grad():
            result = optimize_inversion(
                generator,
                source256.float(),
                inversion.w_plus.float(),
                inversion.feature.float(),
                loss,
                steps=steps,
                on_step=lambda report: progress(report.step + 1, steps),
                should_stop=interrupt_requested,
                early_stop=early_stop,
            )
    finally:
        generator.to(dtype)
    comfy.check_interrupted()
    return Inversion(result.w_plus.to(dtype), result.feature.to(dtype), None, result.image256.to(dtype), inversion.residual)


NODES = {"StyleHEAT_Invert": (Invert, "StyleHEAT Invert")}
