"""The FFHQ alignment recipe (as the official StyleHEAT Croper and FFHQ dataset script build it), with its transform kept.

From the 68 landmarks: eye centres (means of 36-41 and 42-47) and mouth corners (48, 54) give an
oriented square `quad` in the source image; the aligned image is that square resampled to
size x size. The quad corners (top-left, bottom-left, bottom-right, top-right) are the outer
corners of the output image, so a source pixel p maps to the aligned pixel `matrix @ p`.
Coordinates are pixels with pixel centres at integers, as the landmark detectors report them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .images import to_rgb_uint8
from .landmarks import LandmarkBackend, detect_landmarks
from .warp import apply_matrix, warp_affine

FFHQ_SIZE = 1024
ENCODER_SIZE = 256


def ffhq_quad_params(landmarks68: np.ndarray) -> np.ndarray:
    """[cx, cy, xx, xy]: the quad centre and its half-width vector along the eye line (4,)."""
    points = np.asarray(landmarks68, dtype=np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"FFHQ alignment needs (68, 2) landmarks; got {points.shape}")
    eye_left, eye_right = points[36:42].mean(0), points[42:48].mean(0)
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    eye_to_mouth = (points[48] + points[54]) / 2 - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8) / np.hypot(*x)
    return np.concatenate([eye_avg + 0.1 * eye_to_mouth, x])


def quad_from_params(params: np.ndarray) -> np.ndarray:
    """(4,) [centre, half-width vector] -> (4, 2) quad: top-left, bottom-left, bottom-right, top-right."""
    centre, x = np.asarray(params[:2], dtype=np.float64), np.asarray(params[2:4], dtype=np.float64)
    y = np.array([-x[1], x[0]])
    return np.stack([centre - x - y, centre - x + y, centre + x + y, centre + x - y])


def ffhq_quad(landmarks68: np.ndarray) -> np.ndarray:
    """The FFHQ crop square (4, 2) in source pixels."""
    return quad_from_params(ffhq_quad_params(landmarks68))


@dataclass(frozen=True)
class AlignTransform:
    """A source quad resampled to a size x size aligned image; maps points both ways."""

    quad: np.ndarray
    size: int

    @property
    def inverse(self) -> np.ndarray:
        """3x3 matrix: aligned pixel -> source pixel."""
        top_left, bottom_left, _, top_right = np.asarray(self.quad, dtype=np.float64)
        across, down = (top_right - top_left) / self.size, (bottom_left - top_left) / self.size
        origin = top_left + 0.5 * (across + down)
        return np.array([[across[0], down[0], origin[0]], [across[1], down[1], origin[1]], [0.0, 0.0, 1.0]])

    @property
    def matrix(self) -> np.ndarray:
        """3x3 matrix: source pixel -> aligned pixel."""
        return np.linalg.inv(self.inverse)

    def to_aligned(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) source points -> aligned image points."""
        return apply_matrix(self.matrix, points)

    def to_source(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) aligned image points -> source points."""
        return apply_matrix(self.inverse, points)

    def resized(self, size: int) -> "AlignTransform":
        """The same crop at another output size."""
        return AlignTransform(self.quad, size)

    def as_dict(self) -> dict:
        """JSON-ready description: quad, size and both 3x3 matrices."""
        return {"quad": self.quad.tolist(), "size": self.size, "matrix": self.matrix.tolist(), "inverse": self.inverse.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "AlignTransform":
        """Rebuild from `as_dict` output (quad and size are authoritative)."""
        return cls(np.asarray(data["quad"], dtype=np.float64), int(data["size"]))


def warp_to_aligned(image: np.ndarray, transform: AlignTransform, border: str = "reflect") -> np.ndarray:
    """Resample the transform's quad of an HxWx3 uint8 image to size x size."""
    return warp_affine(image, transform.matrix, (transform.size, transform.size), border)


@dataclass
class AlignedPortrait:
    """An FFHQ-aligned portrait (size x size x 3 uint8), its transform and landmarks in both frames."""

    image: np.ndarray
    transform: AlignTransform
    source_landmarks: np.ndarray
    landmarks: np.ndarray

    def resized(self, size: int = ENCODER_SIZE) -> "AlignedPortrait":
        """The same alignment at another size (area-averaged; 256 for the encoders)."""
        transform = self.transform.resized(size)
        interpolation = cv2.INTER_AREA if size < self.transform.size else cv2.INTER_CUBIC
        image = cv2.resize(self.image, (size, size), interpolation=interpolation)
        return AlignedPortrait(image, transform, self.source_landmarks, transform.to_aligned(self.source_landmarks))


def align_portrait(
    image: np.ndarray,
    landmarks68: np.ndarray | None = None,
    backend: LandmarkBackend | None = None,
    size: int = FFHQ_SIZE,
    face_index: int = 0,
    border: str = "reflect",
) -> AlignedPortrait:
    """FFHQ-align a portrait (any supported layout); landmarks are detected when not given.

    border='reflect' mirrors the image where the crop leaves it (as FFHQ pads); 'constant' fills black.
    """
    rgb = to_rgb_uint8(image, "portrait")
    points = detect_landmarks(rgb, backend, face_index) if landmarks68 is None else np.asarray(landmarks68, dtype=np.float64)
    transform = AlignTransform(ffhq_quad(points), size)
    return AlignedPortrait(warp_to_aligned(rgb, transform, border), transform, points, transform.to_aligned(points))
