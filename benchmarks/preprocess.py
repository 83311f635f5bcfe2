"""Time the driving-video preprocessing on this machine: landmarks + crop, Deep3D (recipe weights), cache hit.

    python benchmarks/preprocess.py [VIDEO ...]   (default: the 512² talking videos in ../shared/media)

Deep3D runs with the golden recipe weights (same architecture and cost as the real checkpoint).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from styleheat_core.preprocess.coefficients import coefficients_from_frames  # noqa: E402
from styleheat_core.preprocess.landmarks import default_backend  # noqa: E402
from styleheat_core.preprocess.motion import extract_video_motion  # noqa: E402
from styleheat_core.preprocess.video_crop import CropOptions, crop_video  # noqa: E402
from styleheat_core.preprocess.video_io import iter_video_frames, video_fps  # noqa: E402
from tests.support.preprocess import DRIVING_VIDEO, TALKING_VIDEO, recipe_deep3d, standard_lm3d_5  # noqa: E402


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def benchmark(path: Path) -> None:
    net, lm3d_5 = recipe_deep3d(), standard_lm3d_5()
    default_backend()
    print(f"\n{path.name}")
    for mode in ("fixed", "tracked"):
        cropped, crop_seconds = timed(crop_video, iter_video_frames(path), CropOptions(mode=mode))
        frames = len(cropped.crops)
        _, deep3d_seconds = timed(coefficients_from_frames, cropped.crops, cropped.landmarks, net, lm3d_5)
        total = crop_seconds + deep3d_seconds
        print(
            f"  {mode:7s} {frames} frames ({frames / video_fps(path):.2f} s video, {cropped.crops.shape[1]}² crops): "
            f"decode+landmarks+crop {crop_seconds:.1f} s ({1000 * crop_seconds / frames:.1f} ms/frame), "
            f"Deep3D {deep3d_seconds:.1f} s ({1000 * deep3d_seconds / frames:.1f} ms/frame), total {total:.1f} s"
        )
    with tempfile.TemporaryDirectory() as cache:
        _, first = timed(extract_video_motion, path, net, lm3d_5, cache_dir=cache)
        _, second = timed(extract_video_motion, path, net, lm3d_5, cache_dir=cache)
    print(f"  extract_video_motion (fixed, cache miss): {first:.1f} s; cache hit: {second:.2f} s")


def main() -> None:
    videos = [Path(p) for p in sys.argv[1:]] or [DRIVING_VIDEO, TALKING_VIDEO]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"numpy {np.__version__}, python {platform.python_version()}")
    for path in videos:
        benchmark(path)


if __name__ == "__main__":
    main()
