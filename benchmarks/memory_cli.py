"""Peak resident memory of the headless renderer (`python -m styleheat_core.render`) in a fresh process (issue #16's measure).

    python benchmarks/memory_cli.py [--frames 8] [--size 1024] [--lean-loading]

Renders FRAMES frames of the real talking clip onto the 640x896 portrait with every network the video
workflow needs at its real size (the tests' recipe-weight checkpoints), and reports the process's
peak RSS (ru_maxrss) and wall time. `--lean-loading` runs the same with a prototype of lean checkpoint
loading patched in (not the pack's loaders): `.pth` files read with `torch.load(mmap=True)` and
networks built on the meta device, then given the loaded tensors (`load_state_dict(assign=True)`),
so no network exists twice (random initial weights + checkpoint) while it loads.
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


def patch_lean_loading() -> None:
    """Swap the pack's checkpoint reading and network building for the mmap + meta-device prototype."""
    from styleheat_core.io import checkpoints, loaders

    read_container, build_module = checkpoints.read_container, checkpoints.build_module

    def lean_read(path, spec):
        if Path(path).suffix in (".pth", ".pt"):
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError:
                pass
        return read_container(path, spec)

    def lean_build(entry, state, device="cpu", dtype=torch.float32):
        with torch.device("meta"):
            module = entry.build()
        module.load_state_dict(dict(state), strict=True, assign=True)
        if any(t.is_meta for t in (*module.parameters(), *module.buffers())):
            return build_module(entry, state, device, dtype)
        return module.to(device=device, dtype=dtype).eval().requires_grad_(False)

    checkpoints.read_container = lean_read
    loaders.build_module = lean_build


def child(frames: int, size: int, lean: bool) -> dict:
    from styleheat_core.render.__main__ import main
    from tests.support.clips import cut_clip
    from tests.support.model_folder import recipe_model_folder
    from tests.support.preprocess import PORTRAIT, TALKING_VIDEO

    if lean:
        patch_lean_loading()
    with tempfile.TemporaryDirectory() as folder:
        clip = cut_clip(TALKING_VIDEO, Path(folder) / "driving.mp4", frames)
        start = time.perf_counter()
        code = main(["--portrait", str(PORTRAIT), "--video", str(clip), "--out", f"{folder}/out.mp4", "--models", str(recipe_model_folder()),
                     "--size", str(size), "--cache", f"{folder}/cache"])
        seconds = time.perf_counter() - start
    return {"frames": frames, "size": size, "lean": lean, "exit": code, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--lean-loading", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.frames, args.size, args.lean_loading)))
        return
    command = [sys.executable, __file__, "--child", "--frames", str(args.frames), "--size", str(args.size)] + (["--lean-loading"] if args.lean_loading else [])
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    loading = "lean prototype (mmap + meta device)" if result["lean"] else "the pack's loaders"
    print(f"torch {torch.__version__}: {result['frames']} frames at {result['size']}², {loading}: peak RSS {result['peak'] / MIB:.0f} MiB "
          f"({result['peak'] / 2**30:.2f} GiB), {result['seconds']:.0f} s, exit {result['exit']}")


if __name__ == "__main__":
    main()
