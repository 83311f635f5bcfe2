"""File names that a workflow sets stay inside the StyleHEAT model folders (or the input folder for Load Audio).

Absolute paths, drives and '..' are refused from the text alone, with one message whatever the name
points at. Links inside a folder are followed, wherever they lead: the path is judged as written
(as ComfyUI does), because only someone who can write into the folder can place a link there, and
that person can as well place any file there.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile

from styleheat_core.editing.directions import OWN_DIRECTION
from tests.support.pack import node, pack

ESCAPES = ["../outside.npy", "sub/../../outside.npy", "..", "/etc/passwd", "//etc/passwd", "C:\\Windows\\win.ini", "C:outside.npy", "..\\outside.npy", "\\\\server\\share\\x.npy"]


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """models/ (the pack's model folder), input/ and a file beside them that no workflow may reach."""
    models, inputs = tmp_path / "models", tmp_path / "input"
    models.mkdir()
    inputs.mkdir()
    np.save(tmp_path / "outside.npy", np.ones(512, dtype=np.float32))
    np.save(models / "mine.npy", np.ones(512, dtype=np.float32))
    monkeypatch.setenv("STYLEHEAT_MODELS_DIR", str(models))
    monkeypatch.setenv("STYLEHEAT_INPUT_DIR", str(inputs))
    return tmp_path


def _comfy():
    return pack().nodes.comfy


def _style_direction(name: str):
    """Style Direction with a custom file (it refuses the name before it touches the latent)."""
    return node("StyleHEAT_StyleDirection").run(None, "custom direction file", 1.0, False, name)


def _custom_direction(name: str):
    """The direction that Style Direction reads from `name`."""
    edit = pack().nodes.edit
    return edit._directions(edit.CUSTOM_FILE, name, None, None).interfacegan[OWN_DIRECTION]


def _refusal(call, name: str) -> str:
    with pytest.raises(ValueError) as error:
        call(name)
    message = str(error.value)
    assert "not a file name inside" in message and "'..'" in message
    return message.replace(name, "<NAME>")


@pytest.mark.parametrize("name", ESCAPES)
def test_names_that_leave_the_model_folder_are_refused(folders, name):
    _refusal(_comfy().find, name)
    _refusal(lambda n: _comfy().resolve(n, "stylegan"), name)


def test_the_refusal_does_not_tell_whether_the_file_exists(folders):
    existing, missing = str(folders / "outside.npy"), str(folders / "no-such-file.npy")
    assert os.path.isfile(existing) and not os.path.exists(missing)
    messages = {_refusal(_style_direction, name) for name in (existing, missing, "/etc/passwd", "/etc/no-such-file")}
    assert len(messages) == 1
    dotted = {_refusal(_style_direction, name) for name in ("../outside.npy", "../no-such-file.npy")}
    assert len(dotted) == 1


def test_every_file_widget_goes_through_the_check(folders):
    outside = str(folders / "outside.npy")
    loaders = {
        "StyleHEAT_LoadStyleGAN": lambda n: node("StyleHEAT_LoadStyleGAN").load(n, "fp32"),
        "StyleHEAT_LoadEncoder": lambda n: node("StyleHEAT_LoadEncoder").load(n, n, "fp32"),
        "StyleHEAT_LoadMotionModels": lambda n: node("StyleHEAT_LoadMotionModels").load(n, "fp32"),
        "StyleHEAT_LoadDeep3D": lambda n: node("StyleHEAT_LoadDeep3D").load(n, n, "fp32"),
        "StyleHEAT_LoadInversionRefiner": lambda n: node("StyleHEAT_LoadInversionRefiner").load(n, n),
        "StyleHEAT_LoadStyleDirections": lambda n: node("StyleHEAT_LoadStyleDirections").load(n, n, n),
        "StyleHEAT_LoadExpressionPresets": lambda n: node("StyleHEAT_LoadExpressionPresets").load(n),
        "StyleHEAT_LoadAudioWarper": lambda n: node("StyleHEAT_LoadAudioWarper").load(n),
        "StyleHEAT_LoadAudioModels": lambda n: node("StyleHEAT_LoadAudioModels").load(n),
        "audio2pose_pth": lambda n: node("StyleHEAT_LoadAudioModels").load("sadtalker/SadTalker_V0.0.2_256.safetensors", n),
        "direction_file": _style_direction,
    }
    for what, call in loaders.items():
        for name in (outside, "../outside.npy"):
            with pytest.raises(ValueError, match="not a file name inside the StyleHEAT model folders") as error:
                call(name)
            assert name in str(error.value), what


def test_load_audio_reads_only_the_input_folder(folders):
    soundfile.write(folders / "input" / "speech.wav", np.zeros(1600, dtype=np.float32) + 0.1, 16000)
    soundfile.write(folders / "outside.wav", np.zeros(1600, dtype=np.float32) + 0.1, 16000)
    load = node("StyleHEAT_LoadAudio").load
    (audio,) = load("speech.wav")
    assert audio["sample_rate"] == 16000 and audio["waveform"].shape == (1, 1, 1600)
    for name in ("../outside.wav", str(folders / "outside.wav"), "/etc/passwd"):
        with pytest.raises(ValueError, match="not a file name inside the input folder"):
            load(name)
    with pytest.raises(FileNotFoundError, match="not in the input folder"):
        load("missing.wav")
    assert "speech.wav" in pack().nodes.audio.LoadAudio.INPUT_TYPES()["required"]["file"][0]


def test_links_placed_inside_the_folder_keep_working(folders):
    """A link to a file elsewhere and a linked sub-folder (e.g. a shared checkpoint disk) are followed."""
    models = folders / "models"
    elsewhere = folders / "shared-disk"
    elsewhere.mkdir()
    np.save(elsewhere / "shared.npy", np.full(512, 2.0, dtype=np.float32))
    (models / "linked.npy").symlink_to(folders / "outside.npy")
    (models / "disk").symlink_to(elsewhere, target_is_directory=True)
    assert _comfy().find("linked.npy") == models / "linked.npy"
    assert _comfy().find("disk/shared.npy") == models / "disk" / "shared.npy"
    assert float(_custom_direction("disk/shared.npy").sum()) == 1024.0
    assert _comfy().find("mine.npy") == models / "mine.npy"
    assert _comfy().find("./mine.npy") == models / "mine.npy"
    assert _comfy().find("missing.npy") is None


def test_a_link_made_by_anyone_who_can_write_the_folder_is_followed_too(folders):
    """Documented decision: links are not judged by their target. A link to a file outside the folder, made
    here by the test, loads like any file in the folder; only writing into the folder can create one."""
    (folders / "models" / "to-outside.npy").symlink_to(folders / "outside.npy")
    assert float(_custom_direction("to-outside.npy").sum()) == 512.0
    with pytest.raises(ValueError, match="not a file name inside"):
        _custom_direction(str(folders / "outside.npy"))  # the same file by its own path stays refused


def test_names_with_a_nul_byte_or_empty_are_refused(folders):
    for name in ("mine.npy\0.pt", "", "   "):
        with pytest.raises(ValueError, match="not a file name inside"):
            _comfy().find(name)
