"""Checkpoint loader nodes: official files from models/styleheat, strict checks, precision and device."""

from __future__ import annotations

import torch

from ..styleheat_core.editing.directions import StyleDirections
from ..styleheat_core.editing.inversion_loss import InversionLoss
from ..styleheat_core.io.layouts import official_file
from ..styleheat_core.io.loaders import (
    load_deep3d,
    load_encoder_networks,
    load_expression_presets,
    load_motion_networks,
    load_standard_landmarks,
    load_style_directions,
    load_stylegan,
    load_vgg19,
    load_wplus_pca,
)
from . import comfy
from .types import (
    CATEGORY,
    DEEP3D,
    ENCODER,
    EXPRESSION_VECTORS,
    MOTION_MODELS,
    REFINER,
    STYLE_DIRECTIONS,
    STYLEGAN,
    Deep3DModels,
    ExpressionPresets,
)

LOADER_CATEGORY = f"{CATEGORY}/loaders"


PRECISION_TOOLTIP = (
    "auto: fp16 on GPUs that run it well, fp32 on the CPU (the official results). "
    "bf16 on a CPU with AMX or avx512_bf16 runs about 2x faster, within bf16 rounding of fp32; "
    "other CPUs only emulate bf16 and fp16, several times slower than fp32 (the console warns)"
)


def _precision_input() -> tuple:
    return (comfy.PRECISIONS, {"default": "auto", "tooltip": PRECISION_TOOLTIP})


def _file_input(key: str) -> tuple:
    spec = official_file(key)
    return (comfy.choices(key), {"default": spec.filename, "tooltip": f"{spec.what}; from {spec.source}"})


def _dtype(precision: str) -> torch.dtype:
    return comfy.dtype_for(precision, comfy.device())


class LoadStyleGAN:
    """StyleGAN_e4e.pth: the StyleGAN2-FFHQ 1024 generator."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"stylegan": _file_input("stylegan"), "precision": _precision_input()}}

    RETURN_TYPES = (STYLEGAN,)
    RETURN_NAMES = ("stylegan",)
    OUTPUT_TOOLTIPS = ("the StyleGAN2 generator, for Invert, Decode, Render Video and Audio Lip Flow",)
    FUNCTION = "load"
    CATEGORY = LOADER_CATEGORY
    DESCRIPTION = __doc__

    def load(self, stylegan: str, precision: str):
        dtype = _dtype(precision)
        return (comfy.ManagedModel.wrap(load_stylegan(comfy.resolve(stylegan, "stylegan"), comfy.offload_device(), dtype)),)


class LoadEncoder:
    """Encoder_e4e.pth + hfgi.pth: the encode inversion (e4e W+ codes, HFGI residual modulation)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"e4e": _file_input("e4e"), "hfgi": _file_input("hfgi"), "precision": _precision_input()}}

    RETURN_TYPES = (ENCODER,)
    RETURN_NAMES = ("encoder",)
    OUTPUT_TOOLTIPS = ("e4e + HFGI, for Invert (and for re-decoding Style Direction edits)",)
    FUNCTION = "load"
    CATEGORY = LOADER_CATEGORY
    DESCRIPTION = __doc__

    def load(self, e4e: str, hfgi: str, precision: str):
        dtype = _dtype(precision)
        nets = load_encoder_networks(comfy.resolve(e4e, "e4e"), comfy.resolve(hfgi, "hfgi"), comfy.offload_device(), dtype)
        return (comfy.ManagedModel.wrap(nets),)


class LoadMotionModels:
    """StyleHEAT_visual.pt: the video warper (3DMM motion -> flow) and the calibration network."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"styleheat": _file_input("styleheat"), "precision": _precision_input()}}

    RETURN_TYPES = (MOTION_MODELS,)
    RETURN_NAMES = ("motion_models",)
    OUTPUT_TOOLTIPS = ("the video warper and the calibration network, for Video Flow, Audio Flow and Calibrate",)
    FUNCTION = "load"
    CATEGORY = LOADER_CATEGORY
    DESCRIPTION = __doc__

    def load(self, styleheat: str, precision: str):
        dtype = _dtype(precision)
        return (comfy.ManagedModel.wrap(load_motion_networks(comfy.resolve(styleheat, "styleheat"), comfy.offload_device(), dtype)),)


class LoadDeep3D:
    """Deep3D/epoch_20.pth + BFM/similarity_Lm3D_all.mat: 3DMM coefficients of faces."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"deep3d": _file_input("deep3d"), "bfm_landmarks": _file_input("bfm_landmarks"), "precision": _precision_input()}}

    RETURN_TYPES = (DEEP3D,)
    RETURN_NAMES = ("deep3d",)
    OUTPUT_TOOLTIPS = ("the 3DMM regressor and its crop landmarks, for 3DMM Extract",)
    FUNCTION = "load"
    CATEGORY = LOADER_CATEGORY
    DESCRIPTION = __doc__

    def load(self, deep3d: str, bfm_landmarks: str, precision: str):
        dtype = _dtype(precision)
        net = load_deep3d(comfy.resolve(deep3d, "deep3d"), comfy.offload_device(), dtype)
        landmarks = load_standard_landmarks(comfy.resolve(bfm_landmarks, "bfm_landmarks"))
        return (Deep3DModels(comfy.ManagedModel.wrap(net), landmarks),)


class LoadInversionRefiner:
    """vgg19.pth + ffhq_PCA.npz: the loss of the optimisation inversion (Invert's refinement steps)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"vgg19": _file_input("vgg19"), "wplus_pca": _file_input("wplus_pca")}}

    RETURN_TYPES = (REFINER,)
    RETURN_NAMES = ("refiner",)
    OUTPUT_TOOLTIPS = ("the optimisation-inversion loss, for Invert's refine_steps",)
    FUNCTION = "load"
    CATEGORY = LOADER_CATEGORY
    DESCRIPTION = __doc__

    def load(self, vgg19: str, wplus_pca: str):
        vgg = load_vgg19(comfy.resolve(vgg19, "vgg19"), comfy.offload_device(), torch.float32)
        loss = InversionLoss(vgg, load_wplus_pca(comfy.resolve(wplus_pca, "wplus_pca")))
        return (comfy.ManagedModel.wrap(loss),)


NODES = {
    "StyleHEAT_LoadStyleGAN": (LoadStyleGAN, "Load StyleGAN2"),
    "StyleHEAT_LoadEncoder": (LoadEncoder, "Load Inversion Encoder"),
    "StyleHEAT_LoadMotionModels": (LoadMotionModels, "Load Motion Models"),
    "StyleHEAT_LoadDeep3D": (LoadDeep3D, "Load Deep3D (3DMM)"),
    "StyleHEAT_LoadInversionRefiner": (LoadInversionRefiner, "Load Inversion Refiner"),
}


class LoadStyleDirections:
    """interfacegan_directions/{age,pose}.pt + ffhq_pca.pt: the official global edits (InterFaceGAN age / pose, GANSpace beard / lip)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"age": _file_input("interfacegan_age"), "pose": _file_input("interfacegan_pose"), "ganspace": _file_input("ganspace")}}

    RETURN_TYPES = (STYLE_DIRECTIONS,)
    RETURN_NAMES = ("directions",)
    OUTPUT_TOOLTIPS = ("the official age / pose directions and GANSpace PCA, for Style Direction",)
    FUNCTION = "load"
    CATEGORY = LOADER_CATEGORY
    DESCRIPTION = __doc__

    def load(self, age: str, pose: str, ganspace: str):
        paths = (comfy.resolve(age, "interfacegan_age"), comfy.resolve(pose, "interfacegan_pose"), comfy.resolve(ganspace, "ganspace"))
        return (load_style_directions(*paths),)


def default_style_directions(edit: str) -> StyleDirections:
    """The official file of one preset edit ('age', 'pose', 'beard' or 'lip'), for edit nodes without Load Style Directions."""
    if edit in ("age", "pose"):
        key = f"interfacegan_{edit}"
        return load_style_directions(**{edit: comfy.resolve(official_file(key).filename, key)})
    return load_style_directions(ganspace=comfy.resolve(official_file("ganspace").filename, "ganspace"))


class LoadExpressionPresets:
    """intuitive_edit/expression.pth: the official expression vectors (centre, mouth, eyebrow, eyes) of 3DMM Edit."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"expressions": _file_input("expression_presets")}}

    RETURN_TYPES = (EXPRESSION_VECTORS,)
    RETURN_NAMES = ("expression_presets",)
    OUTPUT_TOOLTIPS = ("the official expression vectors, for 3DMM Edit and Motion Controls",)
    FUNCTION = "load"
    CATEGORY = LOADER_CATEGORY
    DESCRIPTION = __doc__

    def load(self, expressions: str):
        return (ExpressionPresets(load_expression_presets(comfy.resolve(expressions, "expression_presets"))),)


def default_expression_presets() -> ExpressionPresets:
    """The official expression vectors, for 3DMM Edit without Load Expression Presets."""
    return LoadExpressionPresets().load(official_file("expression_presets").filename)[0]


NODES.update(
    {
        "StyleHEAT_LoadStyleDirections": (LoadStyleDirections, "Load Style Directions"),
        "StyleHEAT_LoadExpressionPresets": (LoadExpressionPresets, "Load Expression Presets"),
    }
)
