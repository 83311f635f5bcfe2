"""Timing and peak-memory measurement of one callable (wall clock, CUDA-synchronised), and /proc readings for the memory benchmarks."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import torch

MIB = 2**20

try:
    import psutil
except ImportError:  # ru_maxrss (the process-lifetime peak) is reported instead
    psutil = None


@dataclass
class Measurement:
    seconds: float
    peak_ram_mib: float
    peak_gpu_mib: float | None
    result: Any


class _RssSampler:
    """Peak resident memory during a block: psutil polled every 5 ms, else the process peak ru_maxrss."""

    def __enter__(self) -> Self:
        self.peak = 0
        if psutil is not None:
            self._process = psutil.Process()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(0.005)

    def __exit__(self, *exc) -> None:
        if psutil is None:
            self.peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
            return
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(fn: Callable[[], Any], device: torch.device, repeats: int = 1) -> Measurement:
    """Best of `repeats` runs of `fn` (after the caller's warm-up), with the peak memory over all of them."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    best = float("inf")
    result = None
    with _RssSampler() as rss:
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            result = fn()
            synchronize(device)
            best = min(best, time.perf_counter() - start)
    gpu = torch.cuda.max_memory_allocated(device) / MIB if device.type == "cuda" else None
    return Measurement(best, rss.peak / MIB, gpu, result)


def status_kib(field: str, pid: int | str = "self") -> int:
    """A kB field of /proc/PID/status (VmRSS: resident now, VmHWM: its peak since start or the last reset)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int | str = "self") -> None:
    """Start a new high-water mark (VmHWM) of the resident set (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def growth_lines(results: list[dict], peaks: dict[str, str]) -> list[str]:
    """For each later run: how much each peak (`peaks`: result key -> label) grew over the first run's, by frames."""
    first = results[0]
    return [
        f"{first['frames']} -> {r['frames']} frames: " + "; ".join(f"{label} {r[key] / first[key] - 1:+.2%}" for key, label in peaks.items())
        for r in results[1:]
    ]
