"""Peak resident memory of a chunked `decode_video` run, for a short and a long video.

    python benchmarks/memory_decode.py [FRAMES ...]   (default: 50 500)

Each length runs in a fresh subprocess, which reports its peak RSS (`ru_maxrss`) after setup and
after decoding. The generator is a reduced, randomly initialised StyleGAN2 (64² synthesis, the
64² hook layer included) whose frames are resized to the 256² IMAGE output; the motion is a
constant flow with no networks and no calibrator. The chunk loop, the per-chunk source, motion,
warp and resize, and the (N, 256, 256, 3) float32 output buffer are the real ones.
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from styleheat_core.models.flow import flow_to_grid  # noqa: E402
from styleheat_core.models.pirender import DESCRIPTOR_NC  # noqa: E402
from styleheat_core.models.stylegan2 import FEATURE_RESOLUTION, Generator  # noqa: E402
from styleheat_core.pipeline.decode import WarpedFeatures, decode_video  # noqa: E402
from styleheat_core.pipeline.forward import FrameMotion  # noqa: E402
from styleheat_core.pipeline.handles import LocalModel  # noqa: E402
from styleheat_core.pipeline.inversion import ENCODER_SIZE, Inversion, OptimizedInversion  # noqa: E402
from styleheat_core.pipeline.source import SourceLatent  # noqa: E402

GENERATOR_SIZE = 64
OUTPUT_SIZE = 256
CHUNK_SIZE = 4
MIB = 2**20


@dataclass(frozen=True)
class ConstantMotion:
    """A MotionSource without networks: every frame shifts the source feature by half a pixel."""

    num_frames: int

    def models(self) -> tuple:
        return ()

    def inputs(self, frames: Sequence[int]) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(len(frames)),)

    def motion(self, source: Inversion, inputs: tuple[torch.Tensor, ...]) -> FrameMotion:
        batch = len(inputs[0])
        flow = torch.full((batch, 2, FEATURE_RESOLUTION, FEATURE_RESOLUTION), 0.5)
        return FrameMotion(flow, (flow_to_grid(flow),), torch.zeros(batch, DESCRIPTOR_NC, 1))


def peak_rss() -> int:
    """Peak resident set size of this process in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@torch.no_grad()
def source_inversion(generator: Generator) -> OptimizedInversion:
    w_plus = torch.randn(1, generator.n_latent, generator.style_dim, generator=torch.Generator().manual_seed(1))
    return OptimizedInversion(w_plus, generator(w_plus).f_latent, torch.zeros(1, 3, ENCODER_SIZE, ENCODER_SIZE))


def measure(frames: int) -> dict:
    """Decode `frames` frames in this process; sizes in bytes."""
    torch.manual_seed(0)
    generator = Generator(GENERATOR_SIZE, 512, 2, channel_multiplier=1).eval()
    features = WarpedFeatures(SourceLatent(source_inversion(generator), LocalModel(generator), None), ConstantMotion(frames))
    setup = peak_rss()
    start = time.perf_counter()
    video = decode_video(generator, features, size=OUTPUT_SIZE, chunk_size=CHUNK_SIZE)
    seconds = time.perf_counter() - start
    return {"frames": frames, "setup": setup, "peak": peak_rss(), "output": video.numel() * video.element_size(), "seconds": seconds}


def run_fresh(frames: int) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", str(frames)], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(results: list[dict]) -> None:
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}, {platform.machine()}")
    print("| frames | setup peak RSS | peak RSS | IMAGE buffer | peak − buffer | decode time |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['frames']} | {r['setup'] / MIB:.0f} MiB | {r['peak'] / MIB:.0f} MiB | {r['output'] / MIB:.0f} MiB "
            f"| {(r['peak'] - r['output']) / MIB:.0f} MiB | {r['seconds']:.0f} s ({r['seconds'] / r['frames']:.2f} s/frame) |"
        )
    first, last = results[0], results[-1]
    growth = last["peak"] / first["peak"] - 1
    without_output = (last["peak"] - last["output"]) / (first["peak"] - first["output"]) - 1
    print(f"growth {first['frames']} -> {last['frames']} frames: {growth:+.1%} in all, {without_output:+.1%} excluding the IMAGE buffer")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        print(json.dumps(measure(int(argv[1]))))
        return
    report([run_fresh(frames) for frames in map(int, argv or ["50", "500"])])


if __name__ == "__main__":
    main(sys.argv[1:])
