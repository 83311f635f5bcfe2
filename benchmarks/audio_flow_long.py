"""Time and peak memory of Audio Flow on long audio (1, 5 and 10 minutes by default): both must grow
at most linearly with the duration.

    python benchmarks/audio_flow_long.py [--threads N] [MINUTES ...]   (default: 1 thread; 1 5 10 minutes)

Each duration runs in a fresh subprocess: the node (`StyleHEAT_AudioFlow`, outside ComfyUI) with
SadTalker's networks on the golden recipe weights (`tests/support/sadtalker.py: recipe_networks()`,
the official shapes and cost), on `speech_radio34_16k.wav` (stereo, 16 kHz) looped to the duration,
at 25 fps, pose and blinks on. It reports the peak RSS after setup (networks and the AUDIO input
loaded) and after the node, the wall and CPU time, and how often the progress callback ran (Cancel is
checked there: the longest gap between two calls bounds how late Cancel takes effect). CPU time is the
figure to compare on a shared machine: other programs stretch the wall time, not the work done.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from tests.support.pack import node, pack
from tests.support.preprocess import MEDIA_DIR
from tests.support.sadtalker import recipe_networks

SPEECH = MEDIA_DIR / "speech_radio34_16k.wav"
FPS = 25.0
MIB = 2**20


def peak_rss() -> int:
    """Peak resident set size of this process in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def looped_audio(minutes: float) -> dict:
    """ComfyUI AUDIO of the speech clip repeated to `minutes` ({'waveform': (1, C, T) float32, 'sample_rate'})."""
    speech, rate = soundfile.read(SPEECH, dtype="float32", always_2d=True)
    length = int(minutes * 60 * rate)
    looped = np.tile(speech.T, (1, -(-length // speech.shape[0])))[:, :length]
    return {"waveform": torch.from_numpy(np.ascontiguousarray(looped))[None], "sample_rate": rate}


def measure(minutes: float, threads: int) -> dict:
    """Run Audio Flow on `minutes` of audio in this process; sizes in bytes."""
    torch.set_num_threads(threads)
    comfy = pack().nodes.comfy
    nets = comfy.ManagedModel(recipe_networks())
    audio = looped_audio(minutes)
    source = pack().nodes.types.CoefficientTrack(torch.zeros(1, 73))
    calls: list[float] = []
    comfy.progress = lambda total, node_id=None: lambda done, total_now: calls.append(time.perf_counter())
    setup = peak_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    _, coefficients = node("StyleHEAT_AudioFlow").run(None, nets, source, audio, FPS, 0, False, True, 0)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    gaps = np.diff([start, *calls])
    return {
        "minutes": minutes, "frames": coefficients.num_frames, "setup": setup, "peak": peak_rss(), "seconds": seconds, "cpu_seconds": cpu_seconds, "threads": threads,
        "input": audio["waveform"].numel() * 4, "progress_calls": len(calls), "longest_gap": float(gaps.max()),
    }


def run_fresh(minutes: float, threads: int) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", "--threads", str(threads), str(minutes)], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(results: list[dict]) -> None:
    print(f"torch {torch.__version__} ({results[0]['threads']} threads), Python {platform.python_version()}, {platform.machine()}, load {os.getloadavg()[0]:.1f}")
    print("| audio | frames | wall time | CPU time | CPU per minute | setup peak RSS | peak RSS | peak − setup | progress calls | longest gap |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['minutes']:g} min | {r['frames']} | {r['seconds']:.0f} s | {r['cpu_seconds']:.0f} s | {r['cpu_seconds'] / r['minutes']:.1f} s "
            f"| {r['setup'] / MIB:.0f} MiB | {r['peak'] / MIB:.0f} MiB | {(r['peak'] - r['setup']) / MIB:.0f} MiB | {r['progress_calls']} | {r['longest_gap']:.2f} s |"
        )
    first, last = results[0], results[-1]
    print(
        f"{first['minutes']:g} -> {last['minutes']:g} min (x{last['minutes'] / first['minutes']:g}): CPU time x{last['cpu_seconds'] / first['cpu_seconds']:.2f}, "
        f"wall time x{last['seconds'] / first['seconds']:.2f}, memory above setup x{(last['peak'] - last['setup']) / (first['peak'] - first['setup']):.2f}"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("minutes", type=float, nargs="*", default=[1.0, 5.0, 10.0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: CPU time comparable on a shared machine)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.minutes[0], args.threads)))
        return
    report([run_fresh(minutes, args.threads) for minutes in args.minutes])


if __name__ == "__main__":
    main(sys.argv[1:])
