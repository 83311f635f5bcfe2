"""Socket type names (public API: saved workflows refer to them) and the bundles some sockets carry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..styleheat_core.preprocess.ffhq_align import AlignTransform
from .comfy import ManagedModel

STYLEGAN = "STYLEHEAT_STYLEGAN"
ENCODER = "STYLEHEAT_ENCODER"
MOTION_MODELS = "STYLEHEAT_MOTION_MODELS"
DEEP3D = "STYLEHEAT_3DMM_MODEL"
AUDIO_MODELS = "STYLEHEAT_AUDIO_MODELS"
AUDIO_WARPER = "STYLEHEAT_AUDIO_WARPER"
REFINER = "STYLEHEAT_REFINER"
LATENT = "STYLEHEAT_LATENT"
COEFFS = "STYLEHEAT_COEFFS"
FLOW = "STYLEHEAT_FLOW"
FEATURES = "STYLEHEAT_FEATURES"
CROP = "STYLEHEAT_CROP"
DIRECTION = "STYLEHEAT_DIRECTION"
STYLE_DIRECTIONS = "STYLEHEAT_STYLE_DIRECTIONS"
EXPRESSION_VECTORS = "STYLEHEAT_EXPRESSION_PRESETS"

CATEGORY = "StyleHEAT"


@dataclass(frozen=True)
class Deep3DModels:
    """The Deep3D coefficient regressor and the 5 standard 3D landmarks of its crop."""

    network: ManagedModel
    standard_landmarks: np.ndarray


@dataclass(frozen=True)
class CropTransforms:
    """What STYLEHEAT_CROP carries: per-frame (or one shared) aligned-crop transforms into the original frames."""

    transforms: tuple[AlignTransform, ...]


@dataclass(frozen=True)
class CoefficientTrack:
    """What STYLEHEAT_COEFFS carries: (N, 73) motion vectors, the source portrait's vector when known,
    and the frame rate the vectors were made at (the driving video's, or Audio Flow's; None = unknown)."""

    vectors: torch.Tensor
    source: torch.Tensor | None = None
    fps: float | None = None

    @property
    def num_frames(self) -> int:
        return int(self.vectors.shape[0])


@dataclass(frozen=True)
class LatentDirection:
    """What STYLEHEAT_DIRECTION carries: a W (1, 512) or W+ (18, 512) direction and where it came from."""

    vector: torch.Tensor
    name: str


@dataclass(frozen=True)
class ExpressionPresets:
    """What STYLEHEAT_EXPRESSION_PRESETS carries: the official 64-d expression vectors by name (intuitive_edit/expression.pth)."""

    vectors: dict[str, torch.Tensor]
