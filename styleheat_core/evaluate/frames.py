"""Frames to evaluate: videos (PyAV) or folders of images, as (N, H, W, 3) uint8 RGB, and the checks on a pair."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from ..preprocess.images import read_image, to_rgb_uint8
from ..preprocess.video_io import iter_video_frames

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".npy")


class EvaluationInputError(ValueError):
    """Inputs that cannot be compared; the message says what differs and what to change."""


def _natural_key(path: Path) -> list:
    """frame_2 before frame_10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def frame_files(folder: Path) -> list[Path]:
    """The image files of a folder in natural order; an error when it holds none."""
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
    if not files:
        raise EvaluationInputError(f"folder '{folder}' holds no frames; put the frames in it as {', '.join(IMAGE_SUFFIXES)} files")
    return files


def _read_file(path: Path) -> np.ndarray:
    image = np.load(path, allow_pickle=False) if path.suffix.lower() == ".npy" else read_image(path)
    return to_rgb_uint8(image, f"frame '{path}'")


def read_frames(path: str | Path, max_frames: int | None = None) -> np.ndarray:
    """A video file or a folder of frames (png/jpg/tif/npy; float pixels in [0, 1]) -> (N, H, W, 3) uint8 RGB."""
    path = Path(path)
    if not path.exists():
        raise EvaluationInputError(f"'{path}' does not exist; give a video file or a folder of frames")
    if path.is_dir():
        frames = [_read_file(p) for p in frame_files(path)[:max_frames]]
    else:
        frames = [to_rgb_uint8(f, f"frame {i} of '{path}'") for i, f in enumerate(iter_video_frames(path, max_frames))]
        if not frames:
            raise EvaluationInputError(f"video '{path}' has no frames")
    sizes = sorted({f.shape[:2] for f in frames})
    if len(sizes) > 1:
        raise EvaluationInputError(f"the frames of '{path}' differ in size ({', '.join(f'{w}x{h}' for h, w in sizes)}); give frames of one size")
    return np.stack(frames)


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N, h, w, 3) uint8 -> (N, height, width, 3): area-averaged when shrinking, bicubic when enlarging."""
    shrinking = height * width < frames.shape[1] * frames.shape[2]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (width, height), interpolation=interpolation) for f in frames])


def matched_pair(pred: np.ndarray, ref: np.ndarray, resize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Check that the two inputs can be compared frame by frame; with `resize`, the prediction takes the reference's size."""
    if len(pred) != len(ref):
        raise EvaluationInputError(
            f"the inputs have different numbers of frames: {len(pred)} predicted, {len(ref)} reference; "
            "trim the longer one (or pass --max-frames)"
        )
    if pred.shape[1:3] != ref.shape[1:3]:
        if not resize:
            raise EvaluationInputError(
                f"the inputs have different resolutions: predicted {pred.shape[2]}x{pred.shape[1]}, reference {ref.shape[2]}x{ref.shape[1]}; "
                "pass --resize to resize the predicted frames to the reference's size"
            )
        pred = resize_frames(pred, ref.shape[1], ref.shape[2])
    return pred, ref
