"""How close the per-frame path runs to the machine's limit: GFLOP per frame, achieved GFLOP/s, matmul peak.

    python benchmarks/flops.py [--frames 4] [--repeats 2] [--precisions fp32,bf16]

The work of one frame is counted (torch.utils.flop_counter: convolutions and matrix products) on the
official forms of the computation (benchmarks/reference.py: direct convolutions, per-sample weights),
so it is the nominal work, without the tricks that skip multiplications (Winograd, sub-pixel
up-convolutions): the whole official frame (with its discarded `video_warp_img` pass) and the work a
frame needs (warper, calibrator, final StyleGAN pass). The path the nodes run (`decode_video`,
chunks of --frames) is timed per precision: a whole decode of one chunk (which also computes what a
video's chunks share: the generator's layers below 64x64), and a later chunk of a video (what each
further chunk costs: `WarpedFeatures.renderer` and the IMAGE conversion). Achieved GFLOP/s = the
nominal GFLOP a frame of a video needs / the time of a later chunk. The practical peak is the best
rate of a 4096x4096x4096 matrix product in that precision on the same threads.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from reference import reference_frame  # noqa: E402
from run import PRECISIONS, video_features  # noqa: E402

from styleheat_core.models.calibrator import refinement_from_official  # noqa: E402
from styleheat_core.pipeline.decode import decode_video  # noqa: E402
from styleheat_core.pipeline.forward import predict_motion, warp_feature  # noqa: E402
from styleheat_core.pipeline.image_format import network_to_image  # noqa: E402
from styleheat_core.pipeline.inversion import invert  # noqa: E402
from styleheat_core.preprocess.semantics import semantic_windows  # noqa: E402
from tests.support.official_ops import official_ops  # noqa: E402
from tests.support.recipe_networks import recipe_inputs, recipe_networks  # noqa: E402

MATMUL_SIZE = 4096
GIGA = 1e9


def counted(function) -> float:
    """Nominal floating-point operations of one call (a multiply-add counts 2)."""
    with FlopCounterMode(display=False) as counter:
        function()
    return float(counter.get_total_flops())


def matmul_peak(dtype: torch.dtype, repeats: int = 5) -> float:
    """Best GFLOP/s of a MATMUL_SIZE³ matrix product in `dtype`."""
    a, b = (torch.randn(MATMUL_SIZE, MATMUL_SIZE).to(dtype) for _ in range(2))
    torch.mm(a, b)
    best = min(_seconds(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * MATMUL_SIZE**3 / best / GIGA


def _seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--precisions", default="fp32,bf16")
    args = parser.parse_args()
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}, {platform.processor() or platform.machine()}")
    nets = recipe_networks()
    source_image, coefficients = recipe_inputs(args.frames)
    source = invert(nets.generator, nets.encoders, source_image)
    window = semantic_windows(coefficients, [0])

    def needed() -> None:
        motion = predict_motion(nets.motion.video_warper, source.image256, window)
        warped = warp_feature(source.feature, motion.grids)
        refinement = refinement_from_official(nets.motion.calibrator(warped, motion.descriptor))
        nets.generator(source.w_plus, inversion_condition=source.condition, f_condition=source.feature, grids=motion.grids, refinement=refinement)

    with official_ops():
        official = counted(lambda: reference_frame(nets.generator, nets.motion, source, window))
        work = counted(needed)
        work_in_video = work - counted(lambda: nets.generator.below_feature(source.w_plus))
    print(
        f"nominal work per 1024² frame: official frame {official / GIGA:.1f} GFLOP (with the discarded pass), needed {work / GIGA:.1f} GFLOP, "
        f"{work_in_video / GIGA:.1f} GFLOP in a video (the layers below 64x64 computed once)"
    )
    print(
        "| precision | ms per frame, one-chunk decode (chunk of %d) | ms per frame, later chunk of a video | achieved GFLOP/s (needed work) "
        "| matmul peak GFLOP/s | fraction of peak |" % args.frames
    )
    print("|---|---|---|---|---|---|")
    chunk = list(range(args.frames))
    for label in args.precisions.split(","):
        dtype = PRECISIONS[label]
        nets.to(torch.device("cpu"), dtype)
        features = video_features(nets, source.to("cpu", dtype), coefficients)
        decode_video(nets.generator, features, 1024, args.frames)
        whole = min(_seconds(lambda: decode_video(nets.generator, features, 1024, args.frames)) for _ in range(args.repeats)) / args.frames
        render = features.renderer(nets.generator)
        render(chunk)
        later = min(_seconds(lambda: network_to_image(render(chunk), 1024)) for _ in range(args.repeats)) / args.frames
        achieved, peak = work_in_video / later / GIGA, matmul_peak(dtype)
        print(f"| {label} | {whole * 1000:.0f} | {later * 1000:.0f} | {achieved:.0f} | {peak:.0f} | {achieved / peak:.0%} |")


if __name__ == "__main__":
    main()
