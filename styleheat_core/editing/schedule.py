"""How strong an edit is at each frame of a video: constant, ramped, the official ramp, or keyframed.

`StrengthSchedule.value(frame, num_frames, full)` scales `full` for the ramps; keyframes give the
value itself (a W+ strength for Style Direction, the weight of the whole edit for 3DMM Edit).
The official attribute edit renders frames in batches of 10; batch b gets
`factor / num_batch * b` with `num_batch = num_frames // 10 + 1`, so batch 0 is unedited and the
last batch stays below the full factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

SCHEDULES = ("constant", "linear", "ease_in_out", "official", "keyframes")
OFFICIAL_BATCH_SIZE = 10


@dataclass(frozen=True)
class StrengthSchedule:
    """`kind` is one of SCHEDULES; `keyframes` are (frame, value) pairs sorted by frame (kind 'keyframes' only)."""

    kind: str = "constant"
    keyframes: tuple[tuple[int, float], ...] = ()
    batch_size: int = OFFICIAL_BATCH_SIZE

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"unknown strength schedule '{self.kind}'; choose one of {list(SCHEDULES)}")
        if self.kind == "keyframes" and not self.keyframes:
            raise ValueError("the 'keyframes' schedule needs at least one keyframe, e.g. '0:0, 24:5'")
        frames = [frame for frame, _ in self.keyframes]
        if frames != sorted(set(frames)) or any(frame < 0 for frame in frames):
            raise ValueError(f"keyframes need distinct frame numbers >= 0 in increasing order; got frames {frames}")
        if self.batch_size < 1:
            raise ValueError(f"the official ramp's batch size must be at least 1; got {self.batch_size}")

    def value(self, frame: int, num_frames: int, full: float) -> float:
        """The edit's value at `frame` of a `num_frames` video whose full value is `full`."""
        if self.kind == "keyframes":
            return _interpolate(self.keyframes, frame)
        if self.kind == "official":
            return full / (num_frames // self.batch_size + 1) * (frame // self.batch_size)
        if self.kind == "constant" or num_frames <= 1:
            return full
        t = frame / (num_frames - 1)
        if self.kind == "ease_in_out":
            t = t * t * (3.0 - 2.0 * t)
        return full * t


def parse_keyframes(text: str, value_range: tuple[float, float] | None = None) -> tuple[tuple[int, float], ...]:
    """'0:0, 24:5' -> ((0, 0.0), (24, 5.0)); pairs may be separated by commas, semicolons or new lines.

    Every value must be finite and, given `value_range` (the limits of the widget it stands for), inside it.
    """
    pairs = []
    for item in text.replace(";", ",").replace("\n", ",").split(","):
        if not item.strip():
            continue
        frame, sep, value = item.partition(":")
        try:
            if not sep:
                raise ValueError
            pair = (int(frame), float(value))
        except ValueError:
            raise ValueError(f"keyframe '{item.strip()}' is not 'frame:value' (e.g. '0:0, 24:5')") from None
        _check_keyframe_value(item.strip(), pair[1], value_range)
        pairs.append(pair)
    return tuple(sorted(pairs))


def _check_keyframe_value(item: str, value: float, value_range: tuple[float, float] | None) -> None:
    allowed = "" if value_range is None else f"; keyframe values must lie between {value_range[0]:g} and {value_range[1]:g}"
    if not math.isfinite(value):
        raise ValueError(f"keyframes: '{item}' has a value that is not a finite number{allowed}")
    if value_range is not None and not value_range[0] <= value <= value_range[1]:
        raise ValueError(f"keyframes: '{item}' is out of range{allowed}")


def _interpolate(keyframes: tuple[tuple[int, float], ...], frame: int) -> float:
    """Linear between keyframes, held before the first and after the last."""
    if frame <= keyframes[0][0]:
        return keyframes[0][1]
    for (f0, v0), (f1, v1) in pairwise(keyframes):
        if frame <= f1:
            return v0 + (v1 - v0) * (frame - f0) / (f1 - f0)
    return keyframes[-1][1]


RAMP_TOGGLE = "by ramp toggle"
SCHEDULE_CHOICES = (RAMP_TOGGLE, *SCHEDULES)


def schedule_from_choice(choice: str, ramp: bool, keyframes: str = "", value_range: tuple[float, float] | None = None) -> StrengthSchedule:
    """A node's schedule widget: RAMP_TOGGLE keeps the older `ramp` switch (linear if on, else constant);
    keyframe values must lie in `value_range`, the limits of the widget they replace."""
    if choice == RAMP_TOGGLE:
        return StrengthSchedule("linear" if ramp else "constant")
    if choice not in SCHEDULES:
        raise ValueError(f"unknown schedule '{choice}'; choose one of {list(SCHEDULE_CHOICES)}")
    return StrengthSchedule(choice, parse_keyframes(keyframes, value_range) if choice == "keyframes" else ())
