"""Strength schedules and scheduled W+ edits: exact per-frame strengths, strength 0, s then -s, stacking order."""

import numpy as np
import pytest
import torch

from styleheat_core.editing.directions import GanspaceEdit, GanspacePCA, apply_ganspace, apply_interfacegan, direction_between
from styleheat_core.editing.schedule import StrengthSchedule, parse_keyframes, schedule_from_choice
from styleheat_core.io.checkpoints import CheckpointError
from styleheat_core.io.loaders import load_direction_file
from styleheat_core.models.modulation import FeatureModulation
from styleheat_core.pipeline.inversion import EncodedInversion
from styleheat_core.pipeline.source import ScheduledEdit, SourceLatent


def _condition() -> FeatureModulation:
    return FeatureModulation(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2))


def _inversion(seed: int = 0) -> EncodedInversion:
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, 4, 4, generator=g)
    return EncodedInversion(torch.randn(1, 18, 512, generator=g), torch.randn(1, 2, 2, 2, generator=g), _condition(), image, image * 0.5)


class RecordingLatent(SourceLatent):
    """A SourceLatent whose re-decoding only records the W+ codes it was given (no networks needed)."""

    def _decode(self, w_plus):
        return EncodedInversion(w_plus, torch.full((1, 2, 2, 2), float(w_plus.sum())), _condition(), self.inversion.image256, self.inversion.residual)


def _direction(seed: int = 1) -> torch.Tensor:
    return torch.randn(1, 512, generator=torch.Generator().manual_seed(seed))


def _interfacegan(direction):
    return lambda w, s: apply_interfacegan(w, direction, s)


def test_ramps_give_exact_per_frame_values():
    def values(kind):
        return [StrengthSchedule(kind).value(f, 5, 4.0) for f in range(5)]
    assert values("constant") == [4.0] * 5
    assert values("linear") == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert values("ease_in_out") == [0.0, 4.0 * 0.15625, 2.0, 4.0 * 0.84375, 4.0]
    assert StrengthSchedule("linear").value(0, 1, 4.0) == 4.0


def test_official_ramp_batches_of_ten():
    # 25 frames: num_batch = 25 // 10 + 1 = 3; batch b (frames 10b..10b+9) gets factor / 3 * b.
    schedule = StrengthSchedule("official")
    got = [schedule.value(f, 25, 5.0) for f in range(25)]
    assert got == [0.0] * 10 + [5.0 / 3 * 1] * 10 + [5.0 / 3 * 2] * 5
    # 20 frames: num_batch = 3 as well (the official loop has an empty last batch), so the full factor is never reached.
    assert [schedule.value(f, 20, -5.0) for f in (0, 9, 10, 19)] == [0.0, 0.0, -5.0 / 3, -5.0 / 3]


def test_keyframes_interpolate_and_hold():
    schedule = StrengthSchedule("keyframes", parse_keyframes("24:5, 0:0; 30:-1"))
    assert schedule.keyframes == ((0, 0.0), (24, 5.0), (30, -1.0))
    got = [schedule.value(f, 40, 99.0) for f in (0, 6, 12, 24, 27, 30, 39)]
    assert got == [0.0, 1.25, 2.5, 5.0, 2.0, -1.0, -1.0]
    assert StrengthSchedule("keyframes", ((10, 2.0),)).value(0, 5, 1.0) == 2.0


@pytest.mark.parametrize(
    "text, message",
    [("0-1", "is not 'frame:value'"), ("a:1", "is not 'frame:value'"), ("0:1, 0:2", "distinct frame numbers"), ("", "at least one keyframe")],
)
def test_bad_keyframes_say_what_to_write(text, message):
    with pytest.raises(ValueError, match=message):
        StrengthSchedule("keyframes", parse_keyframes(text))


def test_schedule_widget_keeps_the_ramp_toggle():
    assert schedule_from_choice("by ramp toggle", True) == StrengthSchedule("linear")
    assert schedule_from_choice("by ramp toggle", False) == StrengthSchedule("constant")
    assert schedule_from_choice("official", True) == StrengthSchedule("official")
    assert schedule_from_choice("keyframes", False, "0:0, 24:5").keyframes == ((0, 0.0), (24, 5.0))
    with pytest.raises(ValueError, match="choose one of"):
        schedule_from_choice("bounce", False)


def test_strength_zero_changes_nothing_for_every_edit_kind():
    inversion = _inversion()
    pca = GanspacePCA(torch.zeros(1, 512), torch.randn(80, 1, 512), torch.ones(80))
    ganspace = ScheduledEdit("beard", lambda w, s: apply_ganspace(w, pca, GanspaceEdit(58, 7, 9), s), 0.0)
    latent = RecordingLatent(inversion, object(), object(), (ScheduledEdit("age", _interfacegan(_direction()), 0.0), ganspace))
    assert torch.equal(latent.edited_w_plus(3, 10), inversion.w_plus)
    assert latent.at_frames([0, 1, 2], 10) is inversion  # the inversion itself (batch 1, shared by the frames), not a re-decode


def test_strength_then_minus_strength_returns_the_codes():
    inversion = _inversion()
    direction = _direction()
    latent = RecordingLatent(inversion, object(), object()).with_edit(ScheduledEdit("a", _interfacegan(direction), 7.5)).with_edit(
        ScheduledEdit("b", _interfacegan(direction), -7.5)
    )
    once = latent.edits[0].apply(inversion.w_plus, 7.5)
    assert (once - inversion.w_plus).abs().max() > 1.0
    torch.testing.assert_close(latent.edited_w_plus(0, 1), inversion.w_plus, atol=1e-5, rtol=0)


def test_keyframed_edit_decodes_each_frame_with_its_strength():
    inversion = _inversion()
    direction = _direction()
    schedule = StrengthSchedule("keyframes", parse_keyframes("0:0, 4:2"))
    latent = RecordingLatent(inversion, object(), object()).with_edit(ScheduledEdit("k", _interfacegan(direction), 5.0, schedule))
    assert [latent.edits[0].strength_at(f, 6) for f in range(6)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    frames = latent.at_frames(list(range(6)), 6)
    for f, strength in enumerate([0.0, 0.5, 1.0, 1.5, 2.0, 2.0]):
        torch.testing.assert_close(frames.w_plus[f : f + 1], inversion.w_plus + strength * direction.reshape(1, 1, 512), atol=1e-6, rtol=0)
    assert torch.equal(frames.feature[0:1], inversion.feature)
    assert frames.feature[1, 0, 0, 0] == pytest.approx(float((inversion.w_plus + 0.5 * direction).sum()), rel=1e-5)


def test_edits_stack_in_order():
    inversion = _inversion()
    comps = torch.nn.functional.normalize(torch.randn(80, 1, 512, generator=torch.Generator().manual_seed(3)), dim=-1)
    pca = GanspacePCA(torch.zeros(1, 512), comps, torch.full((80,), 2.0))
    preset = GanspaceEdit(58, 0, 18)
    ganspace = ScheduledEdit("g", lambda w, s: apply_ganspace(w, pca, preset, s), 3.0)
    interfacegan = ScheduledEdit("i", _interfacegan(_direction()), 4.0)
    first_g = RecordingLatent(inversion, object(), object(), (ganspace, interfacegan)).edited_w_plus(0, 1)
    first_i = RecordingLatent(inversion, object(), object(), (interfacegan, ganspace)).edited_w_plus(0, 1)
    torch.testing.assert_close(first_g, interfacegan.apply(ganspace.apply(inversion.w_plus, 3.0), 4.0))
    torch.testing.assert_close(first_i, ganspace.apply(interfacegan.apply(inversion.w_plus, 4.0), 3.0))
    assert (first_g - first_i).abs().max() > 1e-2  # GANSpace sets an absolute coordinate, so order matters
    comp = pca.comp[58].reshape(-1)
    assert float(((first_i[0, 0] - pca.mean[0]) * comp).sum() / 2.0) == pytest.approx(3.0, abs=1e-3)


def test_direction_files_in_every_format(tmp_path):
    direction = torch.randn(18, 512)
    np.save(tmp_path / "smile.npy", direction.numpy().astype(np.float64))
    torch.save({"d": direction[0]}, tmp_path / "w.pt")
    torch.testing.assert_close(load_direction_file(tmp_path / "smile.npy"), direction)
    assert torch.equal(load_direction_file(tmp_path / "w.pt"), direction[:1])
    np.save(tmp_path / "bad.npy", np.zeros(100, dtype=np.float32))
    with pytest.raises(CheckpointError, match="expected 512 or 18x512 values"):
        load_direction_file(tmp_path / "bad.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        load_direction_file(tmp_path / "obj.npy")


def test_direction_between_portraits_moves_start_onto_end():
    start, end = _inversion(0).w_plus, _inversion(5).w_plus
    per_layer = direction_between(start, end)
    assert per_layer.shape == (18, 512)
    torch.testing.assert_close(apply_interfacegan(start, per_layer, 1.0), end, atol=1e-6, rtol=0)
    mean = direction_between(start, end, per_layer=False)
    torch.testing.assert_close(mean, (end - start).mean(dim=1), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="same"):
        direction_between(start, end[:, :9])
