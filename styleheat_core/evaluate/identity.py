"""CSIM: cosine similarity of ArcFace (IR-SE50) identity embeddings, as the pSp/e4e identity loss measures it.

Faces are FFHQ-aligned frames: average-pooled to 256x256, cropped to rows 35:223 and columns 32:220
(the face region pSp uses), average-pooled to 112x112, in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models.arcface import INPUT_SIZE
from .lpips import to_signed_unit

ALIGNED_SIZE = 256
FACE_ROWS, FACE_COLUMNS = slice(35, 223), slice(32, 220)


def face_crop(frames: torch.Tensor) -> torch.Tensor:
    """(B,H,W,3) uint8 FFHQ-aligned frames -> (B,3,112,112) ArcFace input."""
    faces = F.adaptive_avg_pool2d(to_signed_unit(frames), ALIGNED_SIZE)[:, :, FACE_ROWS, FACE_COLUMNS]
    return F.adaptive_avg_pool2d(faces, INPUT_SIZE)


@torch.no_grad()
def identity_embeddings(model: nn.Module, frames: torch.Tensor) -> torch.Tensor:
    """(B,H,W,3) uint8 aligned faces -> (B,512) float64 embeddings."""
    device = next(model.parameters()).device
    return model(face_crop(frames).to(device)).double().cpu()


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity of (B,D) embeddings ((1,D) broadcasts), float64."""
    a, b = a.double(), b.double()
    return (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1))
