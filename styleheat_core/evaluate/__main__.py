"""Reproduce the StyleHEAT paper's Table 1, or compare any two videos / frame folders.

    python -m styleheat_core.evaluate protocol same-id --videos DIR [--size 1024] [--out DIR]
    python -m styleheat_core.evaluate protocol cross-id --portraits DIR --videos DIR
    python -m styleheat_core.evaluate compare --pred A.mp4 --ref B.mp4 [--resize]

Prints a table and writes report.json and report.csv into --out. Protocol runs resume: clips already
scored in --out with the same settings are not rendered again. Settings: docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from ..download import default_dest
from ..io.checkpoints import CheckpointError
from ..pipeline.decode import OUTPUT_SIZES
from ..preprocess.landmarks import NoFaceError
from .compare import compare_frames
from .frames import EvaluationInputError, read_frames
from .networks import METRICS, check_metric_names, load_metric_networks
from .protocol import DEFAULT_METRICS, ProtocolSettings, cross_id_clips, run_protocol, same_id_clips
from .report import Report, table, write_report

EXPECTED_ERRORS = (EvaluationInputError, CheckpointError, NoFaceError, FileNotFoundError, ValueError)


def _common(parser: argparse.ArgumentParser, default_metrics: str) -> None:
    parser.add_argument("--models", type=Path, default=None, help="model folder (default: $STYLEHEAT_MODELS_DIR or ./models/styleheat)")
    parser.add_argument("--out", type=Path, default=None, help="folder for report.json, report.csv and per-clip scores")
    parser.add_argument("--metrics", nargs="+", default=None, choices=METRICS, metavar="METRIC", help=f"subset of {' '.join(METRICS)} (default: {default_metrics})")
    parser.add_argument("--max-frames", type=int, default=None, help="use only the first N frames of each input")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device (default: cuda when available)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m styleheat_core.evaluate", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    protocol = commands.add_parser("protocol", help="render the test clips with StyleHEAT and score them (Table 1)")
    protocol.add_argument("protocol", choices=("same-id", "cross-id"))
    protocol.add_argument("--videos", type=Path, required=True, help="folder of test clips (.mp4 ...)")
    protocol.add_argument("--portraits", type=Path, default=None, help="cross-id: folder of source portraits")
    protocol.add_argument("--size", type=int, default=1024, choices=OUTPUT_SIZES, help="resolution of generated and real frames (default 1024)")
    protocol.add_argument("--chunk-size", type=int, default=4, help="frames rendered at once")
    _common(protocol, "same-id: psnr ssim lpips fid csim; cross-id: fid csim aed apd")
    compare = commands.add_parser("compare", help="score predicted frames against reference frames")
    compare.add_argument("--pred", type=Path, required=True, help="video file or folder of frames")
    compare.add_argument("--ref", type=Path, required=True, help="video file or folder of frames")
    compare.add_argument("--resize", action="store_true", help="resize the predicted frames to the reference's resolution")
    compare.add_argument("--batch-size", type=int, default=8, help="frames scored at once")
    _common(compare, " ".join(DEFAULT_METRICS["same-id"]))
    return parser


def _protocol(args: argparse.Namespace, models: Path) -> Report:
    if args.protocol == "cross-id" and args.portraits is None:
        raise EvaluationInputError("cross-id needs --portraits DIR (the source portraits the videos drive)")
    if args.protocol == "same-id" and args.portraits is not None:
        raise EvaluationInputError("same-id takes its sources from the videos' first frames; drop --portraits (or use cross-id)")
    settings = ProtocolSettings(args.protocol, check_metric_names(args.metrics or DEFAULT_METRICS[args.protocol]), args.size, args.max_frames, args.chunk_size)
    clips = same_id_clips(args.videos) if args.protocol == "same-id" else cross_id_clips(args.portraits, args.videos)
    out = args.out or Path("evaluation") / args.protocol
    return run_protocol(settings, clips, models, out, args.device, progress=not args.no_progress)


def _compare(args: argparse.Namespace, models: Path) -> Report:
    metrics = check_metric_names(args.metrics or DEFAULT_METRICS["same-id"])
    if args.max_frames is not None and args.max_frames < 1:
        raise EvaluationInputError(f"--max-frames must be at least 1; got {args.max_frames}")
    pred, ref = read_frames(args.pred, args.max_frames), read_frames(args.ref, args.max_frames)
    nets = load_metric_networks(models, metrics, args.device)
    return compare_frames(pred, ref, nets, metrics, args.resize, args.batch_size, args.device, progress=not args.no_progress, name=f"{args.pred.name} vs {args.ref.name}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    models = args.models or default_dest()
    try:
        report = _protocol(args, models) if args.command == "protocol" else _compare(args, models)
        out = args.out or Path("evaluation") / (args.protocol if args.command == "protocol" else "compare")
        json_path, csv_path = write_report(report, out)
    except EXPECTED_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(table(report))
    print(f"wrote {json_path} and {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
