"""AED and APD: L1 distances of Deep3D expression and head-pose coefficients between two frames.

Each frame goes through the pack's Deep3D path (dlib 68 landmarks on the frame squashed to 256²,
the official Deep3D crop, the ResNet-50 regressor), as a source portrait does. AED is the mean
absolute difference of the 64 expression coefficients, APD that of the 6 pose values (3 Euler
angles in radians and the 3-d translation). A frame without a detectable face gets no value (NaN);
the report counts how many frames were measured.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..preprocess.coefficients import portrait_coefficients
from ..preprocess.landmarks import LandmarkBackend, NoFaceError
from ..preprocess.semantics import POSE_START, SEMANTIC_DIM

POSE_END = POSE_START + 6


def expression_and_pose(semantics: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,73) motion vectors -> (N,64) expression and (N,6) pose (angles, translation)."""
    return semantics[:, :POSE_START], semantics[:, POSE_START:POSE_END]


def frame_semantics(frames: np.ndarray, net: nn.Module, lm3d_5: np.ndarray, backend: LandmarkBackend | None = None) -> torch.Tensor:
    """(N,H,W,3) uint8 face frames -> (N,73) float64 motion vectors; rows of NaN where no face is found."""
    rows = []
    for frame in frames:
        try:
            rows.append(portrait_coefficients(frame, net, lm3d_5, backend=backend).semantics[0].double())
        except NoFaceError:
            rows.append(torch.full((SEMANTIC_DIM,), float("nan"), dtype=torch.float64))
    return torch.stack(rows)


def motion_distances(pred: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,73) motion vectors of generated and driving frames -> per-frame (AED, APD), float64."""
    pred_exp, pred_pose = expression_and_pose(pred.double())
    ref_exp, ref_pose = expression_and_pose(ref.double())
    return (pred_exp - ref_exp).abs().mean(dim=1), (pred_pose - ref_pose).abs().mean(dim=1)
