"""Command line: `python -m styleheat_core.preprocess align --image PATH --out PATH.png`.

Writes the FFHQ-aligned portrait and, beside it, PATH.json with the 68 source landmarks and the transform.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..io.atomic import atomic_path, atomic_write_text
from .ffhq_align import FFHQ_SIZE, align_portrait
from .images import read_image, write_image
from .landmarks import DlibBackend


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m styleheat_core.preprocess", description="Face preprocessing for StyleHEAT.")
    commands = parser.add_subparsers(dest="command", required=True)
    align = commands.add_parser("align", help="FFHQ-align a portrait")
    align.add_argument("--image", required=True, type=Path, help="portrait to align (png/jpg, 8 or 16 bit, grey/RGB/RGBA)")
    align.add_argument("--out", required=True, type=Path, help="aligned image to write (.png); the .json goes beside it")
    align.add_argument("--size", type=int, default=FFHQ_SIZE, help="output side in pixels (default 1024)")
    align.add_argument("--face-index", type=int, default=0, help="which face, largest first (default 0 = the largest)")
    align.add_argument("--predictor", type=Path, default=None, help="dlib 68-point predictor (default: face-recognition-models)")
    return parser


def align_command(image: Path, out: Path, size: int, face_index: int, predictor: Path | None) -> Path:
    """Align `image`, write `out` and `out` with suffix .json; returns the JSON path."""
    aligned = align_portrait(read_image(image), backend=DlibBackend(predictor), size=size, face_index=face_index)
    with atomic_path(out, keep_suffix=True) as temporary:
        write_image(temporary, aligned.image)
    record = {
        "image": str(image),
        "aligned": str(out),
        "landmarks": aligned.source_landmarks.tolist(),
        "aligned_landmarks": aligned.landmarks.tolist(),
        "transform": aligned.transform.as_dict(),
    }
    json_path = out.with_suffix(".json")
    atomic_write_text(json_path, json.dumps(record))
    return json_path


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        json_path = align_command(args.image, args.out, args.size, args.face_index, args.predictor)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
