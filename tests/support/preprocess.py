"""Shared helpers for the preprocessing tests: the real media, a recipe-weight Deep3D net, synthetic scenes."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytest

# ../shared/media beside the checkout; $STYLEHEAT_MEDIA_DIR points elsewhere (a git worktree has no ../shared).
MEDIA_DIR = Path(os.environ.get("STYLEHEAT_MEDIA_DIR", Path(__file__).resolve().parents[3] / "shared" / "media"))
PORTRAIT = MEDIA_DIR / "portrait_art_0.png"
FFHQ_PORTRAIT = MEDIA_DIR / "ffhq_aligned_100.jpg"
TALKING_VIDEO = MEDIA_DIR / "talking_katie_hill_512.mp4"
DRIVING_VIDEO = MEDIA_DIR / "driving_video_hdtf.mp4"



def needs_media(test):
    """Mark a test as using the real media, skipped only when the media folder is absent."""
    skip = pytest.mark.skipif(not MEDIA_DIR.is_dir(), reason=f"real media folder {MEDIA_DIR} is absent")
    return pytest.mark.media(skip(test))


def rgb(path: Path) -> np.ndarray:
    """An 8-bit RGB image from the media folder."""
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def two_face_canvas() -> tuple[np.ndarray, tuple[int, int, int], tuple[int, int, int]]:
    """A 900x600 canvas with the art portrait large on the left and the FFHQ portrait small on the right.

    Returns the canvas and each face's placement (x, y, side)."""
    canvas = np.full((600, 900, 3), 128, dtype=np.uint8)
    large, small = (20, 40, 520), (600, 150, 260)
    for (x, y, side), path, top in ((large, PORTRAIT, 160), (small, FFHQ_PORTRAIT, 0)):
        image = rgb(path)
        square = image[top : top + image.shape[1]]
        canvas[y : y + side, x : x + side] = cv2.resize(square, (side, side), interpolation=cv2.INTER_AREA)
    return canvas, large, small


@lru_cache(maxsize=1)
def recipe_deep3d():
    """Deep3DReconNet with the golden recipe weights (eval mode)."""
    from styleheat_core.models.deep3d import Deep3DReconNet
    from tests.support.golden import network_state_dict

    net = Deep3DReconNet()
    net.load_state_dict(network_state_dict("deep3d"), strict=True)
    return net.eval()


@lru_cache(maxsize=1)
def standard_lm3d_5() -> np.ndarray:
    """The 5 standard 3D landmarks from the synthetic 68 of the golden preprocessing case."""
    from styleheat_core.preprocess.deep3d_align import standard_landmarks_5
    from tests.support.golden import GoldenCase

    return standard_landmarks_5(GoldenCase.load("preprocess_3dmm").input("in.lm3d_68").numpy())
