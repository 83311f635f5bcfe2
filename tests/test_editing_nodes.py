"""Style Direction and Direction From Portraits nodes: schedule widgets, the direction socket, clear errors."""

import numpy as np
import pytest
import torch

from styleheat_core.models.modulation import FeatureModulation
from styleheat_core.pipeline.inversion import EncodedInversion
from styleheat_core.pipeline.source import SourceLatent
from tests.support.pack import node


def _latent(seed: int) -> SourceLatent:
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, 4, 4, generator=g)
    zeros = torch.zeros(1, 2, 2, 2)
    return SourceLatent(EncodedInversion(torch.randn(1, 18, 512, generator=g), zeros, FeatureModulation(zeros, zeros), image, image), object(), object())


def test_portrait_direction_feeds_style_direction_with_a_schedule():
    neutral, smiling = _latent(0), _latent(1)
    (direction,) = node("StyleHEAT_DirectionFromPortraits").run(neutral, smiling, "W+ (per layer)")
    assert direction.vector.shape == (18, 512)
    (edited,) = node("StyleHEAT_StyleDirection").run(neutral, "direction input", 1.0, False, "", direction, "official", "")
    edit = edited.edits[0]
    assert [edit.strength_at(f, 25) for f in (0, 10, 24)] == [0.0, 1.0 / 3, 2.0 / 3]
    torch.testing.assert_close(edit.apply(neutral.inversion.w_plus, 1.0), smiling.inversion.w_plus, atol=1e-6, rtol=0)
    (layer_mean,) = node("StyleHEAT_DirectionFromPortraits").run(neutral, smiling, "W (layer mean)")
    assert layer_mean.vector.shape == (1, 512)


def test_style_direction_keeps_its_ramp_widget_and_reads_npy(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEHEAT_MODELS_DIR", str(tmp_path))
    np.save(tmp_path / "mine.npy", np.ones(512, dtype=np.float32))
    latent = _latent(0)
    (ramped,) = node("StyleHEAT_StyleDirection").run(latent, "custom direction file", 4.0, True, "mine.npy")
    assert [ramped.edits[0].strength_at(f, 5) for f in range(5)] == [0.0, 1.0, 2.0, 3.0, 4.0]
    torch.testing.assert_close(ramped.edits[0].apply(latent.inversion.w_plus, 2.0), latent.inversion.w_plus + 2.0)
    (keyed,) = node("StyleHEAT_StyleDirection").run(latent, "custom direction file", 4.0, True, "mine.npy", None, "keyframes", "0:0, 24:5")
    assert [keyed.edits[0].strength_at(f, 30) for f in (0, 12, 29)] == [0.0, 2.5, 5.0]


def test_direction_socket_and_menu_must_agree():
    latent = _latent(0)
    (direction,) = node("StyleHEAT_DirectionFromPortraits").run(latent, _latent(1), "W+ (per layer)")
    with pytest.raises(ValueError, match="direction input"):
        node("StyleHEAT_StyleDirection").run(latent, "age (InterFaceGAN)", 5.0, False, "", direction)
    with pytest.raises(ValueError, match="direction input"):
        node("StyleHEAT_StyleDirection").run(latent, "direction input", 5.0, False, "")
