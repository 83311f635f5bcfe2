"""Time 3DMM extraction end to end (decode, landmarks, crop, Deep3D) of checkouts side by side, fresh process per run.

    git worktree add /tmp/before f4ddefd
    python benchmarks/extract_motion.py --tree /tmp/before --tree . --rounds 3 [--video PATH]

Each run imports `extract_video_motion` from its tree and extracts the whole video without a cache (golden
recipe Deep3D weights, fp32); the trees take turns, so a busy machine slows them alike. Prints each run's
seconds, then every tree's median and the first tree's median over each later tree's (the speed-up), and
the largest coefficient difference between the first tree and each later one.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.preprocess import DRIVING_VIDEO  # noqa: E402

RUN = """
import sys, time
sys.path.insert(0, {tree!r})
import numpy as np
from styleheat_core.preprocess.motion import extract_video_motion
from tests.support.preprocess import recipe_deep3d, standard_lm3d_5
net, lm3d_5 = recipe_deep3d(), standard_lm3d_5()
start = time.perf_counter()
motion = extract_video_motion({video!r}, net, lm3d_5)
seconds = time.perf_counter() - start
np.save({coefficients!r}, motion.coefficients.coeff257.numpy())
print(seconds)
"""


def run_once(tree: Path, video: Path, coefficients: Path) -> float:
    """Seconds one fresh process takes to extract `video` with the code of `tree`."""
    code = RUN.format(tree=str(tree), video=str(video), coefficients=str(coefficients))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tree)
    if out.returncode != 0:
        raise SystemExit(f"the run in {tree} failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, action="append", required=True, help="a checkout to import the pack from (repeat)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--video", type=Path, default=DRIVING_VIDEO)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not args.video.is_file():
        parser.error(f"video not found: {args.video}")
    trees = [tree.resolve() for tree in args.tree]
    times: dict[Path, list[float]] = {tree: [] for tree in trees}
    with tempfile.TemporaryDirectory() as scratch:
        coefficients = {tree: Path(scratch) / f"{index}.npy" for index, tree in enumerate(trees)}
        for round_index in range(args.rounds):
            for tree in trees:
                seconds = run_once(tree, args.video, coefficients[tree])
                times[tree].append(seconds)
                print(f"round {round_index + 1}: {tree}: {seconds:.1f} s", flush=True)
        first = np.load(coefficients[trees[0]])
        for tree in trees:
            median = statistics.median(times[tree])
            difference = np.abs(np.load(coefficients[tree]) - first)
            speedup = statistics.median(times[trees[0]]) / median
            print(
                f"{tree}: median {median:.1f} s, speedup_vs_first={speedup:.2f}, "
                f"coefficients vs the first tree: max |diff| {difference.max():.3g}, mean {difference.mean():.3g}"
            )


if __name__ == "__main__":
    main()
