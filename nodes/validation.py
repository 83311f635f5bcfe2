"""Every INT and FLOAT input of a StyleHEAT node is checked before the node runs: a finite number inside
the min/max that the node's own INPUT_TYPES gives it.

ComfyUI checks min/max when it validates a prompt, but NaN fails every comparison and so passes,
values that arrive through a link (a video's fps) are not checked at all, and direct calls skip
ComfyUI. `guard_numbers` wraps a node class's FUNCTION once, so one check covers every node; the
message names the node and the input.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

NUMBER_TYPES = ("INT", "FLOAT")


@functools.cache
def number_limits(node_class: type) -> dict[str, tuple[str, float | None, float | None]]:
    """{input name: (INT|FLOAT, min, max)} of a node class's required and optional inputs."""
    limits = {}
    for section in ("required", "optional"):
        for name, spec in node_class.INPUT_TYPES().get(section, {}).items():
            kind = spec[0] if isinstance(spec, tuple) and spec else None
            if isinstance(kind, str) and kind in NUMBER_TYPES:
                options = spec[1] if len(spec) > 1 else {}
                limits[name] = (kind, options.get("min"), options.get("max"))
    return limits


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    if low is not None:
        return f"at least {low:g}"
    return f"at most {high:g}" if high is not None else "a finite number"


def check_number(node_name: str, input_name: str, value: Any, kind: str, low: float | None, high: float | None) -> None:
    """Raise ValueError unless `value` is a finite (for INT: whole) number within [low, high]."""
    allowed = _range_text(low, high)
    try:
        if isinstance(value, (str, bytes, bool)):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{node_name}: '{input_name}' must be a number {allowed}; got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{node_name}: '{input_name}' = {value!r} is not a finite number; set it {allowed}")
    if kind == "INT" and not number.is_integer():
        raise ValueError(f"{node_name}: '{input_name}' = {value!r} must be a whole number {allowed}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{node_name}: '{input_name}' = {value!r} is out of range; set it {allowed}")


def check_numbers(node_name: str, node_class: type, arguments: dict[str, Any]) -> None:
    """Check every INT/FLOAT argument of one call of `node_class` against its INPUT_TYPES limits."""
    for name, (kind, low, high) in number_limits(node_class).items():
        if name in arguments:
            check_number(node_name, name, arguments[name], kind, low, high)


def guard_numbers(node_class: type, node_name: str) -> None:
    """Wrap `node_class.FUNCTION` (once) so that its numbers are checked before it runs."""
    function: Callable = getattr(node_class, node_class.FUNCTION)
    if getattr(function, "checks_numbers", False):
        return
    signature = inspect.signature(function)

    @functools.wraps(function)
    def checked(self, *args, **kwargs):
        arguments = signature.bind_partial(self, *args, **kwargs).arguments
        check_numbers(node_name, node_class, arguments)
        return function(self, *args, **kwargs)

    checked.checks_numbers = True
    setattr(node_class, node_class.FUNCTION, checked)
