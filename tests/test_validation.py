"""Every number that reaches a node is finite and inside its widget's limits (ComfyUI's own check lets NaN
through, and never sees linked values); keyframes keep to the limits of the widget they stand for."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from styleheat_core.editing.schedule import parse_keyframes, schedule_from_choice
from tests.support.pack import node, pack

NODES = pack().NODE_CLASS_MAPPINGS
NAMES = pack().NODE_DISPLAY_NAME_MAPPINGS
VALIDATION = pack().nodes.validation


def _number_inputs():
    for node_id, cls in NODES.items():
        for name, (kind, low, high) in VALIDATION.number_limits(cls).items():
            yield pytest.param(node_id, name, kind, low, high, id=f"{node_id}.{name}")


def _call(node_id: str, **arguments):
    instance = NODES[node_id]()
    return getattr(instance, NODES[node_id].FUNCTION)(**arguments)


def test_every_node_checks_its_numbers_before_it_runs():
    assert all(getattr(getattr(cls, cls.FUNCTION), "checks_numbers", False) for cls in NODES.values())
    assert sum(1 for _ in _number_inputs()) >= 20


@pytest.mark.parametrize("node_id, name, kind, low, high", list(_number_inputs()))
def test_non_finite_and_out_of_range_numbers_are_refused_with_node_and_input_named(node_id, name, kind, low, high):
    bad = [math.nan, math.inf, -math.inf, "nan"]
    if high is not None:
        bad.append(high + 1)
    if low is not None:
        bad.append(low - 1)
    if kind == "INT":
        bad.append(0.5 + (low or 0))
    for value in bad:
        with pytest.raises(ValueError) as error:
            _call(node_id, **{name: value})
        message = str(error.value)
        assert message.startswith(f"{NAMES[node_id]}: '{name}'") and ("between" in message or "at least" in message or "at most" in message), message


def test_numbers_inside_the_limits_pass_through_unchanged():
    """A linked fps arrives as a Fraction (ComfyUI's video components): it is a finite number in range."""
    VALIDATION.check_number("StyleGAN Decode", "fps", Fraction(30000, 1001), "FLOAT", 1.0, 240.0)
    VALIDATION.check_number("x", "n", 10**3, "INT", 0, 10**4)
    with pytest.raises(ValueError, match="'n' = 100000 is out of range; set it between 0 and 10000"):
        VALIDATION.check_number("x", "n", 10**5, "INT", 0, 10**4)
    with pytest.raises(ValueError, match="must be a number"):
        VALIDATION.check_number("x", "n", 10**400, "FLOAT", None, None)
    with pytest.raises(ValueError, match="must be a number"):
        VALIDATION.check_number("x", "n", True, "INT", 0, 1)


def test_a_nan_strength_never_reaches_the_edit():
    with pytest.raises(ValueError, match="Style Direction: 'strength' = nan is not a finite number; set it between -50 and 50"):
        node("StyleHEAT_StyleDirection").run(None, "age (InterFaceGAN)", float("nan"), False, "")


@pytest.mark.parametrize("text", ["0:1e9", "0:nan, 2:inf", "0:0, 10:-50.5", "3:-inf"])
def test_style_direction_keyframes_keep_to_the_strength_limits(text):
    with pytest.raises(ValueError, match=r"keyframes: .*keyframe values must lie between -50 and 50"):
        node("StyleHEAT_StyleDirection").run(None, "age (InterFaceGAN)", 1.0, False, "", None, "keyframes", text)


def test_keyframes_inside_the_limits_are_kept():
    assert parse_keyframes("0:-50, 10:50", (-50, 50)) == ((0, -50.0), (10, 50.0))
    assert schedule_from_choice("keyframes", False, "0:-2, 5:2", (-2, 2)).keyframes == ((0, -2.0), (5, 2.0))
    with pytest.raises(ValueError, match="not a finite number"):
        parse_keyframes("0:nan")
    assert parse_keyframes("0:1e9") == ((0, 1e9),)  # the core alone knows no widget: limits come from the node


def test_3dmm_edit_keyframe_weights_are_limited():
    track = pack().nodes.types.CoefficientTrack(torch.zeros(4, 73))
    run = node("StyleHEAT_3DMMEdit").run
    with pytest.raises(ValueError, match="keyframes: '0:1e9' is out of range; keyframe values must lie between -2 and 2"):
        run(track, 10.0, 0.0, 0.0, "keep", 1.0, False, 0, schedule="keyframes", keyframes="0:1e9")
    with pytest.raises(ValueError, match="'pitch' = nan"):
        run(track, float("nan"), 0.0, 0.0, "keep", 1.0, False, 0)
    (edited,) = run(track, 10.0, 0.0, 0.0, "keep", 1.0, False, 0, schedule="keyframes", keyframes="0:-1, 3:1")
    assert torch.isfinite(edited.vectors).all() and not torch.equal(edited.vectors[0], edited.vectors[3])


def test_relative_mode_with_an_empty_source_batch_says_what_to_connect():
    empty = torch.zeros(0, 64, 64, 3)
    frames = torch.zeros(1, 64, 64, 3)
    for expression_only, relative in ((False, True), (True, False), (False, False)):
        with pytest.raises(ValueError, match="'source_portrait' is an empty image batch: connect the portrait being animated"):
            node("StyleHEAT_3DMMExtract").run(None, frames, "fixed", expression_only, relative, 0.0, 0, "error", empty)


def test_a_direction_file_of_nan_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEHEAT_MODELS_DIR", str(tmp_path))
    np.save(tmp_path / "broken.npy", np.full(512, np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="'broken.npy' holds NaN or infinite values"):
        node("StyleHEAT_StyleDirection").run(None, "custom direction file", 1.0, False, "broken.npy")
