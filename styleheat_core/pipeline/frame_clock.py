"""One frame clock: the frame rate travels with the motion (driving video or Audio Flow) to the renderer.

Render and Decode use the motion's fps unless the user overrides it; an override that differs is
allowed, with a warning that says what will drift.
"""

from __future__ import annotations

import logging
import math

DEFAULT_FPS = 25.0
MAX_FPS = 240.0
logger = logging.getLogger("styleheat")


def check_fps(fps: float, what: str = "fps") -> float:
    """A usable frame rate, or an error naming the input."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or not 0 < fps <= MAX_FPS:
        raise ValueError(f"{what} must be a frame rate in (0, {MAX_FPS:g}]; got {fps!r}")
    return float(fps)


def drift_warning(chosen: float, motion_fps: float, frames: int, what: str) -> str:
    """What goes wrong when `frames` frames made at `motion_fps` are played at `chosen` fps."""
    played, made = frames / chosen, frames / motion_fps
    return (
        f"{what}: fps {chosen:g} differs from the motion's {motion_fps:g} fps. The {frames} frames will last {played:.2f} s "
        f"instead of {made:.2f} s, so sound from the driving video or Audio Flow drifts by up to {abs(played - made):.2f} s. "
        f"Set fps to 0 to use the motion's rate."
    )


def choose_fps(motion_fps: float | None, override: float, frames: int, what: str) -> float:
    """The fps to render at: `override` when > 0 (warning if it differs from the motion's), else the motion's, else 25."""
    if override:
        chosen = check_fps(override, f"{what} fps")
        if motion_fps is not None and not math.isclose(chosen, motion_fps, rel_tol=1e-4):
            logger.warning(drift_warning(chosen, motion_fps, frames, what))
        return chosen
    if motion_fps is None:
        logger.info("%s: the motion's frame rate is unknown (a still or an IMAGE batch without fps); rendering at %g fps", what, DEFAULT_FPS)
        return DEFAULT_FPS
    return motion_fps
