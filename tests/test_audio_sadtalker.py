"""SadTalker audio networks without golden data: container formats, strict loading errors, coefficient assembly."""

import numpy as np
import pytest
import torch

from styleheat_core.audio.frames import mel_frames
from styleheat_core.audio.sadtalker import (
    PoseOptions,
    SadTalkerAudioNetworks,
    add_reference_motion,
    audio_coefficients,
    pose_chunks,
    random_blinks,
    with_source_crop,
)
from styleheat_core.audio.waveform import Speech
from styleheat_core.io.checkpoints import CheckpointError
from styleheat_core.io.layouts import OFFICIAL_FILES
from styleheat_core.io.loaders import load_sadtalker_audio
from styleheat_core.preprocess.semantics import semantic_windows
from tests.support.sadtalker import random_states, write_sadtalker_pth, write_sadtalker_safetensors


@pytest.fixture(scope="module")
def states():
    return random_states(0)


@pytest.fixture(scope="module")
def nets(tmp_path_factory, states) -> SadTalkerAudioNetworks:
    folder = tmp_path_factory.mktemp("sadtalker")
    return load_sadtalker_audio(write_sadtalker_safetensors(folder / OFFICIAL_FILES["sadtalker_256"].basename, states))


def _clip(seconds: float, seed: int = 0) -> Speech:
    t = np.arange(int(seconds * 16000)) / 16000
    noise = np.random.default_rng(seed).standard_normal(t.size) * 0.02
    return Speech((0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + noise).astype(np.float32))


def test_both_containers_load_the_same_weights(tmp_path, states, nets):
    separate = load_sadtalker_audio(
        write_sadtalker_pth(tmp_path / OFFICIAL_FILES["sadtalker_audio2exp"].basename, states["audio2exp"], 300),
        write_sadtalker_pth(tmp_path / OFFICIAL_FILES["sadtalker_audio2pose"].basename, states["audio2pose"], 140),
    )
    for name in ("audio2exp", "audio2pose"):
        for loaded in (getattr(nets, name).state_dict(), getattr(separate, name).state_dict()):
            assert loaded.keys() == states[name].keys()
            assert all(torch.equal(loaded[k], v) for k, v in states[name].items())
        assert not getattr(separate, name).training


def test_renamed_safetensors_is_read_by_its_suffix(tmp_path, states):
    nets = load_sadtalker_audio(write_sadtalker_safetensors(tmp_path / "my_sadtalker.safetensors", states))
    assert torch.equal(nets.audio2exp.mapping1.weight, states["audio2exp"]["mapping1.weight"])


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda s: s["audio2exp"].pop("mapping1.bias"), "missing keys: audio2exp.mapping1.bias"),
        (lambda s: s["audio2pose"].update({"netG.decoder.MLP.L0.weight": torch.zeros(128, 716)}), "mis-shaped keys: audio2pose.netG.decoder.MLP.L0.weight"),
        (lambda s: s["audio2exp"].update({"mapping2.weight": torch.zeros(1)}), "unexpected keys: audio2exp.mapping2.weight"),
    ],
)
def test_safetensors_key_errors_name_the_file_and_key(tmp_path, states, damage, message):
    broken = {name: dict(state) for name, state in states.items()}
    damage(broken)
    path = write_sadtalker_safetensors(tmp_path / OFFICIAL_FILES["sadtalker_256"].basename, broken)
    with pytest.raises(CheckpointError, match=message) as error:
        load_sadtalker_audio(path)
    assert str(path) in str(error.value)


def test_pth_container_errors(tmp_path, states):
    exp_path = tmp_path / OFFICIAL_FILES["sadtalker_audio2exp"].basename
    torch.save(states["audio2exp"], exp_path)  # a bare state dict, not {'model': ...}
    pose_path = write_sadtalker_pth(tmp_path / OFFICIAL_FILES["sadtalker_audio2pose"].basename, states["audio2pose"], 140)
    with pytest.raises(CheckpointError, match="lacks the entries \\[model\\]"):
        load_sadtalker_audio(exp_path, pose_path)
    swapped = write_sadtalker_pth(tmp_path / "swapped" / OFFICIAL_FILES["sadtalker_audio2exp"].basename, states["audio2pose"], 300)
    with pytest.raises(CheckpointError, match="does not match the audio2exp network"):
        load_sadtalker_audio(swapped, pose_path)
    with pytest.raises(ValueError, match="both auido2exp_00300-model.pth and auido2pose_00140-model.pth"):
        load_sadtalker_audio(swapped)
    with pytest.raises(CheckpointError, match="not found"):
        load_sadtalker_audio(tmp_path / "missing" / OFFICIAL_FILES["sadtalker_256"].basename)
    corrupt = tmp_path / OFFICIAL_FILES["sadtalker_512"].basename
    corrupt.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="truncated, corrupt"):
        load_sadtalker_audio(corrupt)


def test_coefficients_per_frame_and_73d_windows(nets):
    mel = mel_frames(_clip(1.5), 25)
    source = torch.randn(73)
    coeffs = audio_coefficients(nets, mel, source, PoseOptions(style=7, seed=3))
    assert coeffs.shape == (mel.num_frames, 70) and coeffs.dtype == torch.float32 and torch.isfinite(coeffs).all()
    assert torch.allclose(coeffs[0, 64:], source[64:70], atol=0.5)  # pose starts near the reference (smoothing moves it a little)
    assert torch.equal(coeffs, audio_coefficients(nets, mel, source, PoseOptions(style=7, seed=3)))
    assert not torch.equal(coeffs, audio_coefficients(nets, mel, source, PoseOptions(style=8, seed=3)))
    semantics = with_source_crop(coeffs, source)
    assert semantics.shape == (mel.num_frames, 73) and torch.equal(semantics[:, 70:], source[70:].expand(mel.num_frames, 3))
    assert semantic_windows(semantics).shape == (mel.num_frames, 73, 27)


def test_still_mode_keeps_the_reference_pose(nets):
    mel = mel_frames(_clip(0.8), 30)
    source = torch.randn(70)
    coeffs = audio_coefficients(nets, mel, source, PoseOptions(still=True))
    assert torch.equal(coeffs[:, 64:], source[64:].expand(mel.num_frames, 6))


@pytest.mark.parametrize("seconds", [0.01, 0.07, 0.2, 1.32, 1.33, 2.6])
def test_any_length_works(nets, seconds):
    mel = mel_frames(_clip(seconds), 25)
    coeffs = audio_coefficients(nets, mel, torch.zeros(70))
    assert coeffs.shape == (mel.num_frames, 70) and torch.isfinite(coeffs).all()


def test_reference_motion_is_relative_and_looped():
    coeffs = torch.zeros(5, 70)
    reference = torch.arange(2 * 6, dtype=torch.float32).reshape(2, 6)
    moved = add_reference_motion(coeffs, reference)
    assert torch.equal(moved[:, 64:], (reference[[0, 1, 0, 1, 0]] - reference[0]))
    with pytest.raises(ValueError, match="reference pose"):
        add_reference_motion(coeffs, torch.zeros(3, 5))


def test_noise_count_and_bad_options(nets):
    assert [pose_chunks(t) for t in (1, 2, 33, 34, 65, 66)] == [0, 1, 1, 2, 2, 3]
    mel = mel_frames(_clip(0.5), 25)
    with pytest.raises(ValueError, match="pose style must be in 0..45"):
        audio_coefficients(nets, mel, torch.zeros(70), PoseOptions(style=46))
    with pytest.raises(ValueError, match="pose noise must have shape"):
        audio_coefficients(nets, mel, torch.zeros(70), noise=torch.zeros(3, 64))
    with pytest.raises(ValueError, match="70 or 73 values"):
        audio_coefficients(nets, mel, torch.zeros(64))


def test_blinks():
    assert torch.equal(random_blinks(20), torch.zeros(20, 1))
    ratio = random_blinks(300, seed=1)
    assert ratio.max() == 1.0 and set(ratio.flatten().tolist()) <= {0.0, 0.5, float(torch.tensor(0.9)), 1.0}
    assert torch.equal(ratio, random_blinks(300, seed=1))
    assert random_blinks(21).shape == (21, 1) and random_blinks(22).shape == (22, 1)


def test_silent_and_clipped_audio_give_finite_coefficients(nets):
    for samples in (np.zeros(16000, np.float32), np.clip(_clip(1.0).samples * 50, -1, 1)):
        coeffs = audio_coefficients(nets, mel_frames(Speech(samples), 25), torch.zeros(73))
        assert torch.isfinite(coeffs).all()
