"""Motion Controls: relative/absolute driving, strengths, eye/mouth multipliers along the official vectors, smoothing, bad input."""

import math

import numpy as np
import pytest
import torch

from styleheat_core.editing.motion_controls import LIMITS, MotionControls, control_motion, feature_directions
from styleheat_core.io.loaders import load_expression_presets
from styleheat_core.preprocess.temporal import smooth_sequence
from tests.support.pack import node, pack
from tests.support.preprocess import MEDIA_DIR

OFFICIAL_VECTORS = MEDIA_DIR / "official_expression_vectors.pth"


def _track(frames: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(frames, 73, generator=torch.Generator().manual_seed(seed))


def _unit(index: int) -> torch.Tensor:
    vector = torch.zeros(64)
    vector[index] = 1.0
    return vector


def _synthetic_presets() -> dict[str, torch.Tensor]:
    """Centre at 1; the eyes move coefficient 0 (by 2), the mouth coefficients 1 (by 3) and 0 (by 1): not orthogonal on purpose."""
    center = torch.ones(64)
    return {
        "expression_center": center,
        "expression_eyes": center + 2 * _unit(0),
        "expression_mouth": center + 3 * _unit(1) + _unit(0),
        "expression_eyebrow": center,
    }


def test_defaults_leave_the_track_unchanged():
    track = _track()
    assert torch.equal(control_motion(track, MotionControls()), track)
    assert torch.equal(control_motion(track, MotionControls(), source=_track(1, seed=1)[0]), track)


def test_relative_driving_moves_the_source_by_the_driving_change_per_component():
    track, source = _track(), _track(1, seed=1)[0]
    both = control_motion(track, MotionControls(expression_mode="relative", pose_mode="relative"), source)
    torch.testing.assert_close(both[:, :70], source[:70] + track[:, :70] - track[:1, :70])
    torch.testing.assert_close(both[0, :70], source[:70])
    assert torch.equal(both[:, 70:], track[:, 70:])  # the crop follows the driver
    pose_only = control_motion(track, MotionControls(pose_mode="relative"), source)
    assert torch.equal(pose_only[:, :64], track[:, :64])
    torch.testing.assert_close(pose_only[:, 64:70], source[64:70] + track[:, 64:70] - track[:1, 64:70])


def test_strengths_scale_the_motion_around_the_reference():
    track, source = _track(), _track(1, seed=1)[0]
    still = control_motion(track, MotionControls(expression_strength=0.0, pose_strength=2.0), source)
    torch.testing.assert_close(still[:, :64], source[:64].expand(6, -1))
    torch.testing.assert_close(still[:, 64:70], source[64:70] + 2.0 * (track[:, 64:70] - source[64:70]))
    # Without a source the first frame is the reference: half strength halves every change from it.
    half = control_motion(track, MotionControls(expression_strength=0.5, pose_strength=0.5))
    torch.testing.assert_close(half[:, :70], track[:1, :70] + 0.5 * (track[:, :70] - track[:1, :70]))
    assert float(half[3, 10]) == pytest.approx(float(track[0, 10] + 0.5 * (track[3, 10] - track[0, 10])), abs=1e-6)


def test_eye_and_mouth_multipliers_scale_only_their_official_directions():
    presets = _synthetic_presets()
    directions = feature_directions(presets)
    torch.testing.assert_close(directions, torch.stack([_unit(0), _unit(1)]))  # mouth made orthogonal to the eyes
    reference = torch.zeros(73)
    track = torch.zeros(2, 73)
    track[1, :3] = torch.tensor([0.4, -0.6, 0.8])  # eye, mouth and another coefficient move
    result = control_motion(track, MotionControls(eyes=0.0, mouth=2.5), reference, presets)
    assert result[1, :3].tolist() == pytest.approx([0.0, -1.5, 0.8])
    assert torch.equal(result[:, 3:], track[:, 3:])


@pytest.mark.skipif(not MEDIA_DIR.is_dir(), reason=f"{MEDIA_DIR} (shared media) is absent")
def test_closing_the_eyes_multiplier_removes_the_official_eye_motion():
    presets = load_expression_presets(OFFICIAL_VECTORS)
    eyes = presets["expression_eyes"] - presets["expression_center"]
    eyes = eyes / eyes.norm()
    track, source = _track(), _track(1, seed=1)[0]
    result = control_motion(track, MotionControls(eyes=0.0), source, presets)
    change = result[:, :64] - source[:64]
    assert change @ eyes == pytest.approx(torch.zeros(6), abs=1e-4)
    # Everything orthogonal to the eye and mouth directions is what the driver gave.
    basis = feature_directions(presets)
    projector = torch.eye(64) - basis.T @ basis  # removes the eye and mouth components
    torch.testing.assert_close(change @ projector, (track[:, :64] - source[:64]) @ projector, atol=1e-5, rtol=0)
    assert float((track[:, :64] - source[:64]) @ eyes @ torch.ones(6)) != pytest.approx(0.0, abs=1e-2)


def test_smoothing_is_a_gaussian_over_the_controlled_track():
    track = _track(12)
    controls = MotionControls(pose_strength=0.5, smoothing=2.0)
    unsmoothed = control_motion(track, MotionControls(pose_strength=0.5))
    expected = torch.from_numpy(smooth_sequence(unsmoothed.numpy(), 2.0)).float()
    result = control_motion(track, controls)
    torch.testing.assert_close(result, expected)
    assert float(np.abs(np.diff(result.numpy(), axis=0)).mean()) < 0.5 * float(np.abs(np.diff(unsmoothed.numpy(), axis=0)).mean())


@pytest.mark.parametrize("widget", sorted(LIMITS))
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused_naming_the_widget(widget, value):
    with pytest.raises(ValueError, match=f"^{widget} must be a finite number"):
        MotionControls(**{widget: value})


@pytest.mark.parametrize("widget", sorted(LIMITS))
def test_values_outside_the_sane_range_are_refused_naming_the_widget(widget):
    low, high = LIMITS[widget]
    with pytest.raises(ValueError, match=f"^{widget} must be between {low} and {high}; got {high + 1}"):
        MotionControls(**{widget: high + 1})
    with pytest.raises(ValueError, match=f"^{widget} must be between"):
        MotionControls(**{widget: low - 0.5})


def test_relative_without_a_source_and_unknown_modes_say_what_to_change():
    with pytest.raises(ValueError, match="source_portrait"):
        control_motion(_track(), MotionControls(expression_mode="relative"))
    with pytest.raises(ValueError, match="pose_mode must be one of"):
        MotionControls(pose_mode="sideways")
    with pytest.raises(ValueError, match="expression vectors"):
        control_motion(_track(), MotionControls(mouth=0.0))


def test_node_widgets_match_the_limits_and_the_node_applies_the_controls():
    spec = node("StyleHEAT_MotionControls").INPUT_TYPES()["required"]
    for widget, (low, high) in LIMITS.items():
        assert (spec[widget][1]["min"], spec[widget][1]["max"]) == (low, high), widget
    types = pack().nodes.types
    track, source = _track(), _track(1, seed=1)[0]
    presets = types.ExpressionPresets(_synthetic_presets())
    (result,) = node("StyleHEAT_MotionControls").run(
        types.CoefficientTrack(track, source), 1.5, 0.0, "relative", "absolute", 1.0, 0.0, 0.0, expression_presets=presets
    )
    assert torch.equal(result.source, source)
    expected = control_motion(track, MotionControls(1.5, 0.0, "relative", "absolute", 1.0, 0.0, 0.0), source, presets.vectors)
    torch.testing.assert_close(result.vectors, expected)
    torch.testing.assert_close(result.vectors[:, 64:70], source[64:70].expand(6, -1))
