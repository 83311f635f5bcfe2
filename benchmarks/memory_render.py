"""Peak resident memory of Render Video's core (`render_to_file`: chunked render, paste-back, H.264 encode, sound) by video length.

    python benchmarks/memory_render.py real [FRAMES ...]      (default: 100 2000)
    python benchmarks/memory_render.py reduced [FRAMES ...]   (default: 100 1000 10000)
    python benchmarks/memory_render.py --pinned-allocator real [FRAMES ...]

`--pinned-allocator` runs the children with MALLOC_MMAP_THRESHOLD_=131072 in their environment (what
the headless CLI sets for itself, and what docs/rendering.md offers CPU users of the node).

Each length runs in a fresh subprocess. `real`: every network at its real size with the golden recipe
weights (StyleGAN2 1024, e4e + HFGI for the inversion, which are then freed, video warper and
calibrator), the golden source and coefficients cycled, 1024² faces pasted back into the 640x896
portrait, a 16 kHz soundtrack of the video's length, chunk 4, H.264 crf 18. `reduced`: the same loop
with a stand-in generator (the source's 64² feature warped by the real warp and projected to a
1024² RGB frame) so that 10,000 frames take minutes; every tensor after the generator, the
paste-back, the encoder and the muxer have their real sizes.

Peak RSS of the render is the kernel's high-water mark (VmHWM), reset after setup through
/proc/self/clear_refs, so loading and inversion do not hide growth during the render; the
lifetime peak (ru_maxrss) is reported too, and so is the trace of the resident set (now, and its peak so
far) at ten points of the render, which shows whether it grows with the frames.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measure import MIB, growth_lines, reset_peak, status_kib  # noqa: E402

from styleheat_core.io.sound import ArraySound  # noqa: E402
from styleheat_core.io.video_writer import VideoFormat  # noqa: E402
from styleheat_core.models.flow import warp  # noqa: E402
from styleheat_core.models.stylegan2 import BelowFeature, SynthesisOutput  # noqa: E402
from styleheat_core.pipeline.decode import WarpedFeatures  # noqa: E402
from styleheat_core.pipeline.handles import LocalModel  # noqa: E402
from styleheat_core.pipeline.inversion import OptimizedInversion, invert  # noqa: E402
from styleheat_core.pipeline.motion import CoefficientMotion  # noqa: E402
from styleheat_core.pipeline.render import ImageFrames, PasteBackPlan, render_to_file  # noqa: E402
from styleheat_core.pipeline.source import SourceLatent  # noqa: E402
from styleheat_core.preprocess.ffhq_align import AlignTransform  # noqa: E402
from tests.support.tiny_render import SwayMotion  # noqa: E402

FPS = 25
CHUNK = 4
PINNED_ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": "131072"}
TRACE_POINTS = 10
PORTRAIT_SIZE = (896, 640)
# The face square of the 640x896 portrait (as Face Align finds it), used for the paste-back.
FACE_QUAD = np.array([[118.0, 236.0], [118.0, 636.0], [518.0, 636.0], [518.0, 236.0]])


class StandInGenerator(nn.Module):
    """The generator contract at a fraction of the cost: the 64² source feature warped by the grids, projected to 1024² RGB."""

    def __init__(self, channels: int = 512):
        super().__init__()
        self.to_rgb = nn.Conv2d(channels, 3, 1)

    def below_feature(self, w_plus: torch.Tensor) -> BelowFeature:
        """Nothing below the feature in this stand-in: a zero feature and RGB skip."""
        return BelowFeature(w_plus.new_zeros(1, self.to_rgb.in_channels, 64, 64), w_plus.new_zeros(1, 3, 32, 32))

    def forward(self, w_plus, *, inversion_condition=None, f_condition=None, grids=(), refinement=None, below=None) -> SynthesisOutput:
        feature = f_condition.expand(grids[0].shape[0], -1, -1, -1)
        for grid in grids:
            feature = warp(feature, grid)
        image = torch.tanh(F.interpolate(self.to_rgb(feature), size=(1024, 1024), mode="bilinear", align_corners=False))
        return SynthesisOutput(image, feature)


@torch.no_grad()
def real_features(frames: int):
    from tests.support.recipe_networks import recipe_inputs, recipe_networks

    nets = recipe_networks()
    source, coefficients = recipe_inputs(frames)
    inversion = invert(nets.generator, nets.encoders, source)
    generator, motion = nets.generator, LocalModel(nets.motion)
    del nets
    gc.collect()
    latent = SourceLatent(inversion, LocalModel(generator), None)
    return generator, WarpedFeatures(latent, CoefficientMotion(motion, coefficients, float(FPS)), motion)


def reduced_features(frames: int):
    torch.manual_seed(0)
    generator = StandInGenerator().eval().requires_grad_(False)
    feature = torch.randn(1, 512, 64, 64)
    source = OptimizedInversion(torch.zeros(1, 18, 512), feature, torch.zeros(1, 3, 256, 256))
    return generator, WarpedFeatures(SourceLatent(source, LocalModel(generator), None), SwayMotion(frames, float(FPS)))


def measure(mode: str, frames: int) -> dict:
    """Render `frames` frames into a temporary mp4 in this process; sizes in bytes."""
    torch.manual_seed(0)
    generator, features = (real_features if mode == "real" else reduced_features)(frames)
    height, width = PORTRAIT_SIZE
    portrait = torch.linspace(0.1, 0.9, width).view(1, 1, width, 1).expand(1, height, width, 3).contiguous()
    paste = PasteBackPlan(ImageFrames(portrait), (AlignTransform(FACE_QUAD, 1024),))
    t = np.arange(round(frames / FPS * 16000), dtype=np.float32) / 16000
    sound = ArraySound((0.3 * np.sin(2 * np.pi * 220 * t))[None].astype(np.float32), 16000)
    gc.collect()
    setup = status_kib("VmRSS") * 1024
    reset_peak()
    trace: list[tuple[int, int, int]] = []
    every = max(CHUNK, frames // TRACE_POINTS)

    def record(done: int, total: int) -> None:
        if done // every != (done - CHUNK) // every or done == total:
            trace.append((done, status_kib("VmRSS") // 1024, status_kib("VmHWM") // 1024))

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        path = render_to_file(
            generator, features, Path(folder) / "bench.mp4", FPS, range(frames), 1024, CHUNK, VideoFormat("h264", 18), paste, sound, on_progress=record
        )
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    return {
        "mode": mode, "frames": frames, "setup_rss": setup, "render_peak": status_kib("VmHWM") * 1024,
        "lifetime_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "seconds": seconds, "file": size,
        "trace_mib": trace, "pinned": os.environ.get("MALLOC_MMAP_THRESHOLD_") == PINNED_ALLOCATOR["MALLOC_MMAP_THRESHOLD_"],
    }


def run_fresh(mode: str, frames: int, pinned: bool) -> dict:
    env = {**os.environ, **PINNED_ALLOCATOR} if pinned else None
    result = subprocess.run([sys.executable, __file__, "--child", mode, str(frames)], check=True, capture_output=True, text=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(results: list[dict]) -> None:
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}, {platform.machine()}")
    print(f"allocator: {'glibc mmap threshold pinned at 128 KiB' if results[0]['pinned'] else 'glibc defaults'}")
    print("| mode | frames | RSS after setup | peak RSS during the render | lifetime peak RSS | render time | mp4 size |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['mode']} | {r['frames']} | {r['setup_rss'] / MIB:.0f} MiB | {r['render_peak'] / MIB:.0f} MiB | {r['lifetime_peak'] / MIB:.0f} MiB "
            f"| {r['seconds']:.0f} s ({r['seconds'] / r['frames']:.2f} s/frame) | {r['file'] / MIB:.1f} MiB |"
        )
    for r in results:
        print(f"{r['frames']} frames, RSS / peak so far (MiB) by frames done: " + ", ".join(f"{d}: {now}/{peak}" for d, now, peak in r["trace_mib"]))
    for line in growth_lines(results, {"render_peak": "render peak", "lifetime_peak": "lifetime peak"}):
        print(line)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        print(json.dumps(measure(argv[1], int(argv[2]))))
        return
    pinned = argv[:1] == ["--pinned-allocator"]
    argv = argv[1:] if pinned else argv
    mode = argv[0] if argv else "real"
    default = ["100", "2000"] if mode == "real" else ["100", "1000", "10000"]
    results = []
    for frames in map(int, argv[1:] or default):
        results.append(run_fresh(mode, frames, pinned))
        print(json.dumps(results[-1]), flush=True)
    report(results)


if __name__ == "__main__":
    main(sys.argv[1:])
