"""Headless StyleHEAT rendering, no ComfyUI needed:

    python -m styleheat_core.render --portrait P (--video V | --audio A) --out O.mp4 [--models DIR] [--size 1024]
        [--frames N] [--chunk 4] [--precision auto] [--device auto] [--edit age=5[:linear] ...]

Streams the frames into the file as they are rendered (flat memory, a progress bar with frames, fps
and ETA). Paths are relative to the current directory. Under `torchrun --nproc_per_node N` every
process renders a contiguous part and the first one joins the parts (see docs/rendering.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..allocator import pin_mmap_threshold
from ..io.checkpoints import CheckpointError
from ..io.video_writer import CODECS, OutputError, VideoFormat
from ..pipeline.decode import OUTPUT_SIZES
from ..preprocess.landmarks import NoFaceError
from .distributed import Ranks
from .job import EDIT_NAMES, RenderJob, StyleEdit, run
from .models import PRECISIONS, ModelFolder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m styleheat_core.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--portrait", type=Path, required=True, help="the face to animate (any photo with a face)")
    drive = parser.add_mutually_exclusive_group(required=True)
    drive.add_argument("--video", type=Path, help="driving video: head motion and expressions (and its sound)")
    drive.add_argument("--audio", type=Path, help="speech (wav/mp3/... or a video's sound): lips, expression and head motion via SadTalker")
    parser.add_argument("--out", type=Path, required=True, help="the video to write (.mp4)")
    parser.add_argument("--models", type=Path, default=None, help="folder with the official checkpoints (default $STYLEHEAT_MODELS_DIR or ./models/styleheat)")
    parser.add_argument("--size", type=int, choices=OUTPUT_SIZES, default=1024, help="generated face size before paste-back")
    parser.add_argument("--frames", type=int, default=0, help="render only the first N frames (0 = all)")
    parser.add_argument("--chunk", type=int, default=4, help="frames rendered at once (memory vs speed)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto = fp16 on a GPU, fp32 on the CPU")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (auto under torchrun: this process's GPU)")
    parser.add_argument("--edit", action="append", default=[], metavar="NAME=STRENGTH[:SCHEDULE]", help=f"W+ edit of the source, repeatable; NAME in {EDIT_NAMES}")
    parser.add_argument("--fps", type=float, default=0.0, help="with --audio: frames per second (default 25); with --video: override its rate (warns)")
    parser.add_argument("--codec", choices=list(CODECS), default="h264")
    parser.add_argument("--crf", type=int, default=18, help="H.264 quality: 0 best, 18 visually lossless, 51 smallest")
    parser.add_argument("--face-only", action="store_true", help="write the generated aligned face instead of pasting it back into the portrait")
    parser.add_argument(
        "--cuda-graphs", action="store_true", help="GPU: replay each chunk from a CUDA graph (fewer kernel launches; checked against the eager frames once)"
    )
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "styleheat", help="where extracted 3DMM motion is cached")
    return parser


def _resolved(path: Path | None) -> Path | None:
    return None if path is None else path.expanduser().resolve()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    pin_mmap_threshold()
    ranks = Ranks.from_environment()
    log = print if ranks.first else (lambda message: None)
    try:
        job = RenderJob(
            portrait=_resolved(args.portrait),
            out=_resolved(args.out),
            video=_resolved(args.video),
            audio=_resolved(args.audio),
            models=ModelFolder(_resolved(args.models)) if args.models else ModelFolder.default(),
            size=args.size,
            frames=args.frames,
            chunk=args.chunk,
            precision=args.precision,
            device=args.device,
            edits=tuple(StyleEdit.parse(text) for text in args.edit),
            fps=args.fps,
            video_format=VideoFormat(args.codec, args.crf),
            paste_back=not args.face_only,
            cache_dir=_resolved(args.cache),
            cuda_graphs=args.cuda_graphs,
        )
        written = run(job, ranks, log)
    except (ValueError, FileNotFoundError, CheckpointError, OutputError, NoFaceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        ranks.close()
    if written is not None:
        log(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
