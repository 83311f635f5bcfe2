"""Deep3D 257 coefficients (and the 73-d StyleHEAT vector) from 256² face crops and their landmarks, as official."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn

from .deep3d_align import FRAME_SIZE, align_for_deep3d, to_network_input
from .images import to_rgb_uint8
from .landmarks import LandmarkBackend, detect_landmarks
from .semantics import semantic_vector
from .warp import apply_matrix, resize_matrix


@dataclass
class Deep3DCoefficients:
    """(N, 257) Deep3D coefficients and the (N, 5) crop trans_params [w0, h0, s, tx, ty], float32."""

    coeff257: torch.Tensor
    trans_params: torch.Tensor

    @property
    def semantics(self) -> torch.Tensor:
        """(N, 73) = [expression 64 | angle 3 | translation 3 | s, tx, ty]."""
        return semantic_vector(self.coeff257, self.trans_params)


@torch.no_grad()
def coefficients_from_frames(
    frames: np.ndarray, landmarks: np.ndarray, net: nn.Module, lm3d_5: np.ndarray, batch_size: int = 20
) -> Deep3DCoefficients:
    """(N, 256, 256, 3) uint8 frames + (N, 68, 2) landmarks in their pixels -> coefficients (Deep3D crop, then the net)."""
    frames, landmarks = np.asarray(frames), np.asarray(landmarks)
    if frames.ndim != 4 or frames.shape[1:] != (FRAME_SIZE, FRAME_SIZE, 3) or len(landmarks) != len(frames):
        raise ValueError(
            f"expected (N, {FRAME_SIZE}, {FRAME_SIZE}, 3) frames with N (68, 2) landmark sets; got {frames.shape} and {landmarks.shape}"
        )
    parameter = next(net.parameters())
    coeffs, params = [], []
    for start in range(0, len(frames), batch_size):
        aligned = [align_for_deep3d(f, lm, lm3d_5) for f, lm in zip(frames[start : start + batch_size], landmarks[start : start + batch_size])]
        batch = to_network_input(np.stack([a.crop for a in aligned])).to(device=parameter.device, dtype=parameter.dtype)
        coeffs.append(net(batch).float().cpu())
        params.extend(a.trans_params for a in aligned)
    return Deep3DCoefficients(torch.cat(coeffs), torch.from_numpy(np.stack(params)))


def portrait_coefficients(
    image: np.ndarray,
    net: nn.Module,
    lm3d_5: np.ndarray,
    landmarks68: np.ndarray | None = None,
    backend: LandmarkBackend | None = None,
) -> Deep3DCoefficients:
    """Coefficients of a source portrait, as official: the image squashed to 256², landmarks mapped along."""
    rgb = to_rgb_uint8(image, "source portrait")
    points = detect_landmarks(rgb, backend) if landmarks68 is None else np.asarray(landmarks68, dtype=np.float64)
    height, width = rgb.shape[:2]
    scale = resize_matrix(width, height, FRAME_SIZE, FRAME_SIZE)
    small = cv2.resize(rgb, (FRAME_SIZE, FRAME_SIZE), interpolation=cv2.INTER_AREA if min(height, width) > FRAME_SIZE else cv2.INTER_CUBIC)
    return coefficients_from_frames(small[None], apply_matrix(scale, points)[None], net, lm3d_5)
