"""Progress reports of long loops: a callback `(done, total)` called after each step, which may raise to cancel.

The nodes pass ComfyUI's progress bar (which raises when the user pressed Cancel); the command lines
pass nothing. A task of several loops in a row reports them on one scale with `stage_callbacks`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

ProgressCallback = Callable[[int, int], None]


def report(progress: ProgressCallback | None, done: int, total: int) -> None:
    """Call `progress` if there is one."""
    if progress is not None:
        progress(done, total)


def stage_callbacks(progress: ProgressCallback | None, weights: Sequence[int]) -> list[ProgressCallback | None]:
    """One callback per consecutive stage; stage i's (done, total) moves `progress` through its share `weights[i]`
    of sum(weights), so the bar runs once from 0 to the end over all stages."""
    if progress is None:
        return [None] * len(weights)
    overall = sum(weights)

    def stage(offset: int, weight: int) -> ProgressCallback:
        return lambda done, total: progress(offset + (weight * done // total if total else weight), overall)

    offsets = [sum(weights[:i]) for i in range(len(weights))]
    return [stage(offset, weight) for offset, weight in zip(offsets, weights)]
