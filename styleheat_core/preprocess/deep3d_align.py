"""Deep3DFaceRecon's alignment of a 256² frame to its 224² crop, exactly as the official code computes it.

Five landmarks are fitted to the standard 3D landmarks (POS least squares) to get a scale and
translation; the frame is resized with PIL bicubic and cropped. The crop's (s, tx, ty) become the
last three entries of the 73-d motion vector, so every truncation below is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

FRAME_SIZE = 256
CROP_SIZE = 224
RESCALE_FACTOR = 102.0
# 1-based 68-point indices: nose tip, left eye corners, right eye corners, mouth corners.
_NOSE, _LEFT_EYE, _RIGHT_EYE, _MOUTH_LEFT, _MOUTH_RIGHT = 30, (36, 39), (42, 45), 48, 54


@dataclass
class Deep3DCrop:
    """The 224² crop (uint8 HxWx3), landmarks in crop coordinates (y up), and [w0, h0, s, tx, ty] (float32)."""

    crop: np.ndarray
    landmarks_224: np.ndarray
    trans_params: np.ndarray


def _five_from_68(points: np.ndarray) -> np.ndarray:
    """[left eye, right eye, nose, left mouth, right mouth] from a 68-point set (eyes = corner means)."""
    return np.stack(
        [
            points[list(_LEFT_EYE)].mean(0),
            points[list(_RIGHT_EYE)].mean(0),
            points[_NOSE],
            points[_MOUTH_LEFT],
            points[_MOUTH_RIGHT],
        ]
    )


def standard_landmarks_5(lm3d_68: np.ndarray) -> np.ndarray:
    """The official `load_lm3d` reduction of the 68 standard 3D landmarks to 5 (5, 3)."""
    lm3d_68 = np.asarray(lm3d_68, dtype=np.float64)
    if lm3d_68.shape != (68, 3):
        raise ValueError(f"standard 3D landmarks must have shape (68, 3); got {lm3d_68.shape}")
    return _five_from_68(lm3d_68)


def five_points(landmarks68: np.ndarray) -> np.ndarray:
    """The official `extract_5p` (5, 2) from 68 image landmarks."""
    return _five_from_68(np.asarray(landmarks68))


def pos_fit(points_2d: np.ndarray, points_3d: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares affine camera from (n,2) image points to (n,3) model points -> translation (2,), scale."""
    n = points_2d.shape[0]
    system = np.zeros([2 * n, 8])
    system[0::2, 0:3] = points_3d
    system[0::2, 3] = 1
    system[1::2, 4:7] = points_3d
    system[1::2, 7] = 1
    solution = np.linalg.lstsq(system, np.reshape(points_2d, [2 * n, 1]), rcond=None)[0][:, 0]
    scale = (np.linalg.norm(solution[0:3]) + np.linalg.norm(solution[4:7])) / 2
    return np.array([solution[3], solution[7]]), float(scale)


def align_for_deep3d(image: np.ndarray, landmarks68: np.ndarray | None, lm3d_5: np.ndarray) -> Deep3DCrop:
    """Crop a 256² RGB uint8 frame for Deep3D from its 68 landmarks (x right, y down, image pixels).

    A failed detection (None, or all -1 as the official landmark detector reports it) uses the
    standard landmarks placed in the frame, as official.
    """
    if image.shape[:2] != (FRAME_SIZE, FRAME_SIZE) or image.dtype != np.uint8:
        raise ValueError(f"Deep3D alignment expects a {FRAME_SIZE}x{FRAME_SIZE} uint8 RGB frame; got {image.shape} {image.dtype}")
    height, width = image.shape[:2]
    if landmarks68 is None or np.mean(landmarks68) == -1:
        landmarks = (lm3d_5[:, :2] + 1) / 2 * np.array([width, height])
        points = landmarks
    else:
        landmarks = np.array(landmarks68, dtype=np.float64)
        landmarks[:, 1] = height - 1 - landmarks[:, 1]
        points = five_points(landmarks)
    t, s = pos_fit(points, lm3d_5)
    s = RESCALE_FACTOR / s
    scaled_w, scaled_h = np.int32(width * s), np.int32(height * s)
    left = np.int32(scaled_w / 2 - CROP_SIZE / 2 + (t[0] - width / 2) * s)
    up = np.int32(scaled_h / 2 - CROP_SIZE / 2 + (height / 2 - t[1]) * s)
    resized = Image.fromarray(image).resize((int(scaled_w), int(scaled_h)), resample=Image.BICUBIC)
    crop = np.array(resized.crop((int(left), int(up), int(left) + CROP_SIZE, int(up) + CROP_SIZE)))
    shifted = np.stack([landmarks[:, 0] - t[0] + width / 2, landmarks[:, 1] - t[1] + height / 2], axis=1) * s
    landmarks_224 = shifted - np.array([scaled_w / 2 - CROP_SIZE / 2, scaled_h / 2 - CROP_SIZE / 2])
    trans_params = np.array([width, height, s, t[0], t[1]], dtype=np.float64).astype(np.float32)
    return Deep3DCrop(crop, landmarks_224, trans_params)


def to_network_input(crops: np.ndarray) -> torch.Tensor:
    """uint8 crops (224,224,3) or (B,224,224,3) -> (B,3,224,224) float32 in [0, 1] (divide in float64, as official)."""
    crops = np.asarray(crops)
    if crops.ndim == 3:
        crops = crops[None]
    return torch.tensor(crops / 255.0, dtype=torch.float32).permute(0, 3, 1, 2).contiguous()
