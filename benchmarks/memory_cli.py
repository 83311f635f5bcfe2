"""Peak resident memory of the headless renderer (`python -m styleheat_core.render`) in a fresh process (issue #16's measure).

    python benchmarks/memory_cli.py [--frames 8] [--size 1024]

Renders FRAMES frames of the real talking clip onto the 640x896 portrait with every network the video
workflow needs at its real size (the tests' recipe-weight checkpoints, read by the pack's loaders:
memory-mapped, networks built on the meta device), and reports the process's peak RSS (ru_maxrss)
and wall time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MIB = 2**20


def child(frames: int, size: int) -> dict:
    from styleheat_core.render.__main__ import main
    from tests.support.clips import cut_clip
    from tests.support.model_folder import recipe_model_folder
    from tests.support.preprocess import PORTRAIT, TALKING_VIDEO

    with tempfile.TemporaryDirectory() as folder:
        clip = cut_clip(TALKING_VIDEO, Path(folder) / "driving.mp4", frames)
        start = time.perf_counter()
        code = main(["--portrait", str(PORTRAIT), "--video", str(clip), "--out", f"{folder}/out.mp4", "--models", str(recipe_model_folder()),
                     "--size", str(size), "--cache", f"{folder}/cache"])
        seconds = time.perf_counter() - start
    return {"frames": frames, "size": size, "exit": code, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.frames, args.size)))
        return
    command = [sys.executable, __file__, "--child", "--frames", str(args.frames), "--size", str(args.size)]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print(f"torch {torch.__version__}: {result['frames']} frames at {result['size']}²: peak RSS {result['peak'] / MIB:.0f} MiB "
          f"({result['peak'] / 2**30:.2f} GiB), {result['seconds']:.0f} s, exit {result['exit']}")


if __name__ == "__main__":
    main()
