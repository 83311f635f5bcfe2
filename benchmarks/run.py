"""Speed of the StyleHEAT per-frame path, stage by stage, and side by side with the official order of work.

    python benchmarks/run.py [--device cpu|cuda] [--size 256,512,1024] [--batch-sizes 1,4] [--precisions fp32,bf16]
                             [--frames 4] [--repeats 1] [--memory-format channels_last|contiguous] [--autocast] [--compile]
                             [--cuda-graphs] [--cudnn-benchmark]
    python benchmarks/run.py --compare-reference --size 1024 --frames 4

Stages, in ms per frame: `deep3d` (3DMM regressor on 224² crops), `warper`, `calibrator`, `decode`
(StyleGAN from the calibrated 64² feature, resized to the output size) and `frame`, the whole
per-frame path as the nodes run it (`decode_video`: warper + calibrator + decode in chunks of
`batch` frames). With `--cuda-graphs` (CUDA) a row `frame (CUDA graphs)` follows: the same frames from
one renderer whose chunks replay a CUDA graph, timed on a second pass over the frames (the first
captures). `inversion` (e4e + HFGI, once per source) is in ms per source. The generator always
renders 1024²; the output size only changes the final area resize. Weights follow the golden recipe
(same architectures and cost as the released checkpoints). fp16 is skipped on the CPU unless asked
for: PyTorch has no fast fp16 CPU convolutions.

`--compare-reference` runs the official computation (benchmarks/reference.py: official module forms,
batch 1, fp32, NCHW, the extra `video_warp_img` pass) and our path (chunks of the largest batch size)
on the same inputs, alternately `--repeats` times (best time of each is kept), checks that the frames
agree, and ends with `speedup_vs_reference=<x>` (reference ms/frame over ours). Before that it does
the same for the inversion (per source) and the Deep3D ResNet-50 (per crop, batch of 8 crops).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from measure import Measurement, measure
from reference import reference_deep3d, reference_inversion, reference_video

from styleheat_core.allocator import keep_freed_memory
from styleheat_core.models.deep3d import INPUT_SIZE as DEEP3D_SIZE
from styleheat_core.models.stylegan2 import Generator
from styleheat_core.pipeline.decode import OUTPUT_SIZES, FrameRenderer, WarpedFeatures, decode_video
from styleheat_core.pipeline.forward import Calibration, FrameMotion, MotionNetworks, predict_motion, render_frames, warp_feature
from styleheat_core.pipeline.handles import LocalModel
from styleheat_core.pipeline.image_format import network_to_image
from styleheat_core.pipeline.inversion import Inversion, invert
from styleheat_core.pipeline.motion import CoefficientMotion
from styleheat_core.pipeline.source import SourceLatent
from styleheat_core.preprocess.semantics import semantic_windows
from tests.support.recipe_networks import Networks, recipe_inputs, recipe_networks

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MEMORY_FORMATS = {"auto": None, "channels_last": torch.channels_last, "contiguous": torch.contiguous_format}
# Frames agree when their IMAGE values ([0,1]) differ by at most this (fp32 summation order only).
FRAME_TOLERANCE = 1e-4
DEEP3D_CROPS = 8  # crops per Deep3D call in --compare-reference


@dataclass
class Row:
    precision: str
    batch: int
    size: int | None
    stage: str
    ms_per_frame: float
    frames_per_s: float
    peak_ram_mib: float
    peak_gpu_mib: float | None


def int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int_list, default=list(reversed(OUTPUT_SIZES)), help="output sizes, e.g. 256,512,1024")
    parser.add_argument("--batch-sizes", type=int_list, default=[1, 4])
    parser.add_argument("--precisions", default=None, help="fp32,bf16,fp16 (default: fp32,bf16 on CPU, all three on CUDA)")
    parser.add_argument("--frames", type=int, default=4, help="frames of the driven video per measurement")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per measurement (best kept), after one warm-up")
    parser.add_argument(
        "--memory-format",
        choices=sorted(MEMORY_FORMATS),
        default="auto",
        help="generator activations (auto: channels_last on CPU, NCHW on CUDA)",
    )
    parser.add_argument("--tf32", action="store_true", help="CUDA: let fp32 convolutions and matmuls use TF32 (off: true fp32)")
    parser.add_argument("--autocast", action="store_true", help="keep fp32 weights and run bf16/fp16 under torch.autocast")
    parser.add_argument("--compile", action="store_true", help="torch.compile the generator and the calibrator")
    parser.add_argument("--cuda-graphs", action="store_true", help="CUDA: also time the frames replayed from CUDA graphs")
    parser.add_argument("--cudnn-benchmark", action="store_true", help="CUDA: let cuDNN time its algorithms per shape (torch.backends.cudnn.benchmark)")
    parser.add_argument(
        "--keep-freed-memory", action="store_true", help="CPU: reuse freed heap memory instead of unmapping it (glibc mallopt)"
    )
    parser.add_argument("--compare-reference", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.precisions is None:
        args.precisions = "fp32,bf16,fp16" if args.device.startswith("cuda") else "fp32,bf16"
        if not args.device.startswith("cuda"):
            print("note: fp16 skipped on CPU (no fast fp16 CPU convolutions); pass --precisions fp32,bf16,fp16 to force it")
    args.precisions = args.precisions.split(",")
    return args


def environment(device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return f"{name}, torch {torch.__version__}, {torch.get_num_threads()} threads, Python {platform.python_version()}"


def prepared(nets: Networks, device: torch.device, dtype: torch.dtype, args: argparse.Namespace) -> Networks:
    """`nets` moved to `device` and cast to the weight dtype (fp32 under --autocast) in place; compiled as asked."""
    nets.to(device, torch.float32 if args.autocast else dtype)
    nets.generator.memory_format = MEMORY_FORMATS[args.memory_format]
    if not args.compile:
        return nets
    motion = MotionNetworks(nets.motion.video_warper, torch.compile(nets.motion.calibrator))
    return replace(nets, generator=torch.compile(nets.generator), motion=motion)


def precision_context(device: torch.device, dtype: torch.dtype, args: argparse.Namespace) -> contextlib.AbstractContextManager:
    if args.autocast and dtype != torch.float32:
        return torch.autocast(device.type, dtype=dtype)
    return contextlib.nullcontext()


def video_features(nets: Networks, source: Inversion, coefficients: torch.Tensor) -> WarpedFeatures:
    motion = LocalModel(nets.motion)
    return WarpedFeatures(SourceLatent(source, LocalModel(nets.generator), None), CoefficientMotion(motion, coefficients), motion)


def warm_measure(fn: Callable[[], object], device: torch.device, repeats: int) -> Measurement:
    fn()
    return measure(fn, device, repeats)


def row(label: str, batch: int, size: int | None, stage: str, m: Measurement, frames: int) -> Row:
    ms = m.seconds * 1000 / frames
    return Row(label, batch, size, stage, ms, 1000 / ms, m.peak_ram_mib, m.peak_gpu_mib)


def render_all(render: FrameRenderer, frames: int, batch: int, size: int) -> torch.Tensor:
    """Every frame through one renderer in chunks of `batch`, as IMAGE chunks (what `decode_video` does, without its buffer)."""
    return torch.cat([network_to_image(raw, size) for _, raw in render.chunks(range(frames), batch)])


def decode_frames(generator: Generator, source: Inversion, motion: FrameMotion, calibration: Calibration, size: int) -> torch.Tensor:
    """The decode stage alone: StyleGAN from the calibrated 64² feature, then the IMAGE resize."""
    return network_to_image(render_frames(generator, source, motion, calibration), size)


@torch.no_grad()
def stage_rows(nets: Networks, source_image: torch.Tensor, coefficients: torch.Tensor, label: str, args: argparse.Namespace) -> list[Row]:
    """Every stage for one precision, all batch sizes and output sizes."""
    device = torch.device(args.device)
    dtype = PRECISIONS[label]
    nets = prepared(nets, device, dtype, args)
    weight_dtype = next(nets.generator.parameters()).dtype
    rows: list[Row] = []
    with precision_context(device, dtype, args):
        source_image = source_image.to(device, weight_dtype)
        inversion = warm_measure(lambda: invert(nets.generator, nets.encoders, source_image), device, args.repeats)
        rows.append(row(label, 1, None, "inversion (per source)", inversion, 1))
        source: Inversion = inversion.result
        for batch in args.batch_sizes:
            windows = semantic_windows(coefficients, [i % len(coefficients) for i in range(batch)])
            crops = torch.rand(batch, 3, DEEP3D_SIZE, DEEP3D_SIZE, generator=torch.Generator().manual_seed(0)).to(device, weight_dtype)
            rows.append(row(label, batch, None, "deep3d", warm_measure(partial(nets.deep3d, crops), device, args.repeats), batch))
            warper = warm_measure(partial(predict_motion, nets.motion.video_warper, source.image256, windows), device, args.repeats)
            rows.append(row(label, batch, None, "warper", warper, batch))
            motion = warper.result
            warped = warp_feature(source.feature, motion.grids)
            calibrator = warm_measure(partial(nets.motion.calibrator.refinement, warped, motion.descriptor), device, args.repeats)
            rows.append(row(label, batch, None, "calibrator", calibrator, batch))
            for size in args.size:
                decode = partial(decode_frames, nets.generator, source, motion, Calibration(warped, calibrator.result), size)
                rows.append(row(label, batch, size, "decode", warm_measure(decode, device, args.repeats), batch))
                decode_video(nets.generator, video_features(nets, source, coefficients[:batch]), size, batch)  # warm-up chunk
                whole = partial(decode_video, nets.generator, video_features(nets, source, coefficients), size, batch)
                rows.append(row(label, batch, size, "frame", measure(whole, device, args.repeats), len(coefficients)))
                if args.cuda_graphs:
                    render = video_features(nets, source, coefficients).renderer(nets.generator, cuda_graphs=True)
                    graphed = partial(render_all, render, len(coefficients), batch, size)
                    first = graphed()  # eager, capture, replays
                    replayed = measure(graphed, device, args.repeats)
                    difference = (replayed.result - first).abs().max().item()
                    print(f"CUDA graphs, batch {batch}: {render.graph_status()}; max |second pass - first pass| {difference:.3g}", flush=True)
                    rows.append(row(label, batch, size, "frame (CUDA graphs)", replayed, len(coefficients)))
    return rows


def print_rows(rows: list[Row]) -> None:
    print("| precision | batch | size | stage | ms/frame | frames/s | peak RAM MiB | peak GPU MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        gpu = f"{r.peak_gpu_mib:.0f}" if r.peak_gpu_mib is not None else "–"
        size = r.size if r.size is not None else "–"
        print(
            f"| {r.precision} | {r.batch} | {size} | {r.stage} | {r.ms_per_frame:.1f} | {r.frames_per_s:.3f} | {r.peak_ram_mib:.0f} | {gpu} |",
            flush=True,
        )


def best_of(runs: dict[str, Callable[[], object]], device: torch.device, repeats: int) -> dict[str, Measurement]:
    """Each run once to warm up, then all of them alternately `repeats` times (a busy machine slows all alike); the best of each."""
    for fn in runs.values():
        fn()
    best: dict[str, Measurement] = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            m = measure(fn, device)
            best[name] = m if name not in best or m.seconds < best[name].seconds else best[name]
    return best


@torch.no_grad()
def compare_encoders(nets: Networks, source_image: torch.Tensor, args: argparse.Namespace) -> None:
    """Inversion and Deep3D with their official forms (reference.py) against ours, fp32, same inputs; prints times and speed-ups."""
    device = torch.device(args.device)
    source_image = source_image.to(device)
    crops = torch.rand(DEEP3D_CROPS, 3, DEEP3D_SIZE, DEEP3D_SIZE, generator=torch.Generator().manual_seed(0)).to(device)
    stages = {
        "inversion": (
            partial(reference_inversion, nets.generator, nets.encoders, source_image),
            partial(invert, nets.generator, nets.encoders, source_image),
            1,
        ),
        "deep3d": (partial(reference_deep3d, nets.deep3d, crops), partial(nets.deep3d, crops), DEEP3D_CROPS),
    }
    for stage, (reference, ours, items) in stages.items():
        best = best_of({"reference": reference, "ours": ours}, device, args.repeats)
        ref, fast = best["reference"], best["ours"]
        unit = "source" if items == 1 else "crop"
        if stage == "inversion":
            diff = max(
                (ref.result.w_plus - fast.result.w_plus).abs().max().item(), (ref.result.feature - fast.result.feature).abs().max().item()
            )
        else:
            diff = (ref.result - fast.result).abs().max().item()
        print(
            f"{stage}: reference {ref.seconds * 1000 / items:.0f} ms/{unit}, ours {fast.seconds * 1000 / items:.0f} ms/{unit}, "
            f"max |diff| {diff:.3g}; {stage}_speedup_vs_reference={ref.seconds / fast.seconds:.2f}",
            flush=True,
        )


@torch.no_grad()
def compare_reference(nets: Networks, source_image: torch.Tensor, coefficients: torch.Tensor, args: argparse.Namespace) -> bool:
    """Official order of work vs ours, fp32, same inputs; prints the timings, the frame difference and the speed-up."""
    device = torch.device(args.device)
    fast = prepared(nets, device, torch.float32, args)  # `nets` itself stays uncompiled for the reference
    size, batch = args.size[-1], max(args.batch_sizes)
    compare_encoders(fast, source_image, args)
    source = invert(nets.generator, nets.encoders, source_image.to(device))
    features = video_features(fast, source, coefficients)
    runs = {
        "reference": lambda: reference_video(nets.generator, nets.motion, source, coefficients, size),
        "ours": lambda: decode_video(fast.generator, features, size, batch),
    }
    best = best_of(runs, device, args.repeats)
    best_ref, best_ours = best["reference"], best["ours"]
    frames = len(coefficients)
    rows = [
        row("fp32", 1, size, "reference (official order)", best_ref, frames),
        row("fp32", batch, size, "ours (decode_video)", best_ours, frames),
    ]
    print_rows(rows)
    diff = (best_ref.result - best_ours.result).abs().max().item()
    bytes_differ = ((best_ref.result * 255).to(torch.uint8) != (best_ours.result * 255).to(torch.uint8)).sum().item()
    identical = diff <= FRAME_TOLERANCE
    print(f"max_abs_diff={diff:.3g} (IMAGE values in [0,1]; tolerance {FRAME_TOLERANCE:g}); uint8 values differing: {bytes_differ}")
    print("frames identical" if identical else "FRAMES DIFFER")
    print(f"speedup_vs_reference={best_ref.seconds / best_ours.seconds:.2f}")
    return identical


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    if args.keep_freed_memory and not keep_freed_memory():
        print("note: --keep-freed-memory needs glibc's mallopt; ignored")
    print(
        f"device: {environment(device)}; memory format {args.memory_format}; autocast {args.autocast}; compile {args.compile}; "
        f"keep freed memory {args.keep_freed_memory}; tf32 {args.tf32}; CUDA graphs {args.cuda_graphs}; cudnn benchmark {args.cudnn_benchmark}"
    )
    print(f"command: python benchmarks/run.py {' '.join(sys.argv[1:] if argv is None else argv)}", flush=True)
    nets = recipe_networks()
    source_image, coefficients = recipe_inputs(args.frames)
    if args.compare_reference:
        return 0 if compare_reference(nets, source_image, coefficients, args) else 1
    rows: list[Row] = []
    for label in args.precisions:
        new = stage_rows(nets, source_image, coefficients, label, args)
        print_rows(new)
        rows.extend(new)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
