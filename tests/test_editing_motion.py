"""3DMM edits: official expression vectors, blink / mouth-open, translation, keyframes, the official intuitive sweep, Edit3DMM."""

import math
import shutil

import pytest
import torch

from styleheat_core.editing.intuitive import intuitive_sweep, sweep_length
from styleheat_core.editing.motion_edit import MotionEdit, edit_motion, helper_offset
from styleheat_core.editing.schedule import StrengthSchedule, parse_keyframes
from styleheat_core.io.loaders import load_expression_presets
from tests.support.pack import node
from tests.support.preprocess import MEDIA_DIR

OFFICIAL_VECTORS = MEDIA_DIR / "official_expression_vectors.pth"
needs_vectors = pytest.mark.skipif(not MEDIA_DIR.is_dir(), reason=f"{MEDIA_DIR} (shared media) is absent")


@pytest.fixture
def model_folder(tmp_path, monkeypatch):
    """A models/styleheat folder holding the official vectors as intuitive_edit/expression.pth."""
    (tmp_path / "intuitive_edit").mkdir()
    shutil.copy(OFFICIAL_VECTORS, tmp_path / "intuitive_edit" / "expression.pth")
    monkeypatch.setenv("STYLEHEAT_MODELS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def presets(model_folder):
    return load_expression_presets(model_folder / "intuitive_edit" / "expression.pth")


def _track(frames: int = 5) -> torch.Tensor:
    return torch.randn(frames, 73, generator=torch.Generator().manual_seed(0)) * 0.1


@needs_vectors
def test_official_expression_vectors_load_and_drive_an_edit(presets):
    assert sorted(presets) == ["expression_center", "expression_eyebrow", "expression_eyes", "expression_mouth"]
    assert all(v.shape == (64,) and v.dtype == torch.float32 for v in presets.values())
    mouth = presets["expression_mouth"]
    # Largest coefficient moves of the mouth vector away from the centre (index: value), read from the official file.
    assert float(mouth[3] - presets["expression_center"][3]) == pytest.approx(-2.2351, abs=1e-4)
    track = _track()
    edited = edit_motion(track, MotionEdit(expression=mouth, expression_strength=0.5))
    torch.testing.assert_close(edited[:, :64], track[:, :64] + 0.5 * (mouth - track[:, :64]))
    assert torch.equal(edited[:, 64:], track[:, 64:])
    full = edit_motion(track, MotionEdit(expression=mouth))
    torch.testing.assert_close(full[:, :64], mouth.expand(5, -1), atol=1e-6, rtol=0)


@needs_vectors
def test_blink_and_mouth_open_are_official_offsets(presets):
    offset = helper_offset(presets, {"blink": 1.0, "mouth_open": 0.5})
    center = presets["expression_center"]
    torch.testing.assert_close(offset, (presets["expression_eyes"] - center) + 0.5 * (presets["expression_mouth"] - center))
    track = _track(3)
    edited = edit_motion(track, MotionEdit(expression_offset=offset))
    torch.testing.assert_close(edited[:, :64], track[:, :64] + offset)
    with pytest.raises(ValueError, match="unknown expression helpers"):
        helper_offset(presets, {"wink": 1.0})


def test_pose_translation_and_keyframed_weight():
    track = _track(5)
    schedule = StrengthSchedule("keyframes", parse_keyframes("0:0, 2:1, 4:0.5"))
    edited = edit_motion(track, MotionEdit(pitch=10.0, yaw=-20.0, roll=5.0, translation=(0.1, -0.2, 0.3), schedule=schedule))
    weights = torch.tensor([0.0, 0.5, 1.0, 0.75, 0.5])[:, None]
    angles = torch.tensor([math.radians(10.0), math.radians(-20.0), math.radians(5.0)])
    torch.testing.assert_close(edited[:, 64:67], track[:, 64:67] + weights * angles)
    torch.testing.assert_close(edited[:, 67:70], track[:, 67:70] + weights * torch.tensor([0.1, -0.2, 0.3]))
    assert torch.equal(edited[:, :64], track[:, :64]) and torch.equal(edited[:, 70:], track[:, 70:])


def _official_sweep(source: torch.Tensor, presets: dict) -> torch.Tensor:
    """The official sequence written out leg by leg from get_intuitive_control's numbers (an independent statement)."""
    a, b = math.pi / 10, math.pi / 8
    pose = {"c": [0, 0, 0], "lx": [0, 0, a], "rx": [0, 0, -a], "ly": [a, 0, 0], "ry": [-a, 0, 0], "lz": [0, b, 0], "rz": [0, -b, 0]}
    pose = {k: torch.tensor(v + [0.0, 0.0, 0.45]) for k, v in pose.items()}
    frames, row = [], source.clone()
    current = pose["c"]
    for name in ["lx", "c", "rx", "c", "ly", "c", "ry", "c", "lz", "c", "rz", "c"]:
        for i in range(10):
            row[64:70] = (pose[name] - current) * i / 9 + current
            frames.append(row.clone())
        current = row[64:70].clone()
    current = row[:64]  # the official code keeps a view of the row it writes: the first leg chains frame to frame
    for n, name in enumerate(["expression_center", "expression_mouth", "expression_center", "expression_eyebrow", "expression_center", "expression_eyes", "expression_center"]):
        for i in range(10):
            row[:64] = (presets[name] - current) * i / 9 + current
            frames.append(row.clone())
        current = row[:64].clone()
    return torch.stack(frames)


@needs_vectors
def test_intuitive_sweep_equals_the_official_sequence(presets):
    source = _track(1)[0]
    sweep = intuitive_sweep(source, presets)
    assert sweep.shape == (sweep_length(), 73) == (190, 73)
    torch.testing.assert_close(sweep, _official_sweep(source, presets), atol=1e-6, rtol=0)
    assert torch.equal(sweep[:, 70:], source[70:].expand(190, -1))
    assert sweep[9, 66] == pytest.approx(math.pi / 10) and sweep[9, 69] == pytest.approx(0.45)
    assert torch.equal(sweep[120], torch.cat([source[:64], sweep[119, 64:70], source[70:]]))
    torch.testing.assert_close(sweep[129, :64], presets["expression_center"], atol=1e-6, rtol=0)
    torch.testing.assert_close(sweep[139, :64], presets["expression_mouth"], atol=1e-6, rtol=0)
    second = source[:64] + (presets["expression_center"] - source[:64]) / 9
    torch.testing.assert_close(sweep[122, :64], second + (presets["expression_center"] - second) * 2 / 9)


@needs_vectors
def test_edit3dmm_node_sweep_helpers_and_legacy_ramp(model_folder, presets):
    from styleheat_core.preprocess.semantics import SEMANTIC_DIM

    edit = node("StyleHEAT_3DMMEdit")
    track = type("Track", (), {})()
    track.vectors, track.source = _track(4), None
    legacy = edit.run(track, 0.0, 9.0, 0.0, "keep", 1.0, True, 0)[0]
    torch.testing.assert_close(legacy.vectors[:, 65], track.vectors[:, 65] + torch.tensor([0.0, 1 / 3, 2 / 3, 1.0]) * math.radians(9.0))
    swept = edit.run(track, 0.0, 0.0, 0.0, "keep", 1.0, False, 0, 0.0, 0.0, 0.1, 1.0, 0.0, "constant", "", "official intuitive sweep")[0]
    expected = intuitive_sweep(track.vectors[0], presets)
    expected[:, 69] += 0.1
    expected[:, :64] += presets["expression_eyes"] - presets["expression_center"]
    assert swept.vectors.shape == (190, SEMANTIC_DIM)
    torch.testing.assert_close(swept.vectors, expected)
    keyed = edit.run(track, 0.0, 10.0, 0.0, "keep", 1.0, False, 6, schedule="keyframes", keyframes="0:0, 5:1")[0]
    assert keyed.vectors.shape == (6, SEMANTIC_DIM)
    torch.testing.assert_close(keyed.vectors[:, 65] - torch.cat([track.vectors[:, 65], track.vectors[-1:, 65].expand(2)]), torch.arange(6) / 5 * math.radians(10.0))
