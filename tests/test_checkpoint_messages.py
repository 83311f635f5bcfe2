"""Every loader's message for an empty, truncated or code-carrying file names the file, its place and the remedy,
and no loader ever runs the code a crafted pickle carries."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from styleheat_core.convert import main as convert
from styleheat_core.io import loaders
from styleheat_core.io.checkpoints import CheckpointError, unreadable, verify_file
from styleheat_core.io.layouts import OFFICIAL_FILES
from tests.support.fake_checkpoints import fake_container, write_fake
from tests.support.hostile_files import code_running_pickle, harmless_pickle, saved_bytes, truncated_copy

UNSAFE = "contains Python objects that could run code; it was not loaded"
PICKLE_SUFFIXES = (".pth", ".pt", ".npz")


@pytest.mark.parametrize("key", sorted(OFFICIAL_FILES))
def test_empty_file_says_download_again_with_file_place_and_source(tmp_path, key):
    spec = OFFICIAL_FILES[key]
    path = tmp_path / spec.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    with pytest.raises(CheckpointError) as error:
        verify_file(path, spec)
    assert str(error.value) == f"{spec.filename} at {path} is empty: download it again ({spec.source})."


def test_empty_direction_file_says_how_to_save_one(tmp_path):
    path = tmp_path / "smile.npy"
    path.touch()
    with pytest.raises(CheckpointError) as error:
        loaders.load_direction_file(path)
    assert str(error.value) == f"direction file at {path} is empty: save the direction with torch.save(tensor), numpy.save(array) or as safetensors."


@pytest.mark.parametrize("key", sorted(OFFICIAL_FILES))
def test_code_running_pickle_is_refused_and_never_runs(tmp_path, key):
    spec = OFFICIAL_FILES[key]
    marker = tmp_path / "marker"
    path = code_running_pickle(tmp_path / spec.filename, marker)
    with pytest.raises(CheckpointError) as error:
        verify_file(path, spec)
    message = str(error.value)
    assert not marker.exists()
    assert f"{spec.filename} at {path}" in message
    if path.suffix in PICKLE_SUFFIXES:
        assert UNSAFE in message
        assert f"python -m styleheat_core.convert --trust-this-file {path}" in message
        assert f"otherwise download it again ({spec.source})" in message
        assert "weights_only set to False" not in message and "Re-running" not in message
    else:  # safetensors and .mat files are never unpickled: the pickle is just not that format
        assert "could not be read" in message and "download it again" in message


@pytest.mark.parametrize("name", ["smile.pt", "smile.npy"])
def test_code_running_direction_file_is_refused_and_never_runs(tmp_path, name):
    marker = tmp_path / "marker"
    path = code_running_pickle(tmp_path / name, marker, {"direction": torch.zeros(512)})
    with pytest.raises(CheckpointError) as error:
        loaders.load_direction_file(path)
    assert not marker.exists()
    message = str(error.value)
    assert message.startswith(f"direction file at {path} cannot be read safely: it {UNSAFE}")
    assert "--trust-this-file" in message


def test_convert_refuses_a_code_running_pickle_and_points_to_the_opt_in(tmp_path, capsys):
    marker = tmp_path / "marker"
    path = code_running_pickle(tmp_path / "hfgi.pth", marker)
    assert convert([str(path), "--out-dir", str(tmp_path / "out")]) == 1
    assert not marker.exists() and not (tmp_path / "out").exists()
    assert UNSAFE in capsys.readouterr().err


def test_harmless_but_non_tensor_objects_get_the_same_message_naming_the_object(tmp_path):
    spec = OFFICIAL_FILES["hfgi"]
    path = tmp_path / spec.filename
    torch.save(harmless_pickle(fake_container(spec.layout)), path)
    with pytest.raises(CheckpointError, match=UNSAFE) as error:
        loaders.load_networks(path, "hfgi")
    assert "(it needs fractions.Fraction)" in str(error.value)


def test_truncated_zip_keeps_torchs_first_sentence_whole(tmp_path):
    spec = OFFICIAL_FILES["hfgi"]
    path = truncated_copy(saved_bytes(fake_container(spec.layout)), tmp_path / spec.filename)
    with pytest.raises(CheckpointError) as error:
        loaders.load_networks(path, "hfgi")
    assert str(error.value) == (
        f"hfgi.pth at {path} could not be read (RuntimeError: PytorchStreamReader failed reading zip archive: failed finding central directory.). "
        f"The file is truncated, corrupt or not a checkpoint: download it again ({spec.source})."
    )


def test_truncated_npz_and_sadtalker_safetensors_name_file_and_remedy(tmp_path):
    for key in ("wplus_pca", "sadtalker_256"):
        spec = OFFICIAL_FILES[key]
        full = write_fake(spec, tmp_path / "full") if key == "wplus_pca" else _sadtalker(tmp_path / "full", spec)
        path = truncated_copy(full.read_bytes(), tmp_path / spec.basename)
        with pytest.raises(CheckpointError) as error:
            verify_file(path, spec)
        message = str(error.value)
        assert message.startswith(f"{spec.filename} at {path} could not be read (")
        assert message.endswith(f"download it again ({spec.source}).")


def _sadtalker(folder, spec):
    from safetensors.torch import save_file

    path = folder / spec.basename
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"audio2exp.x": torch.zeros(1000)}, str(path))
    return path


def test_html_page_is_not_called_unsafe(tmp_path):
    spec = OFFICIAL_FILES["stylegan"]
    path = tmp_path / spec.filename
    path.write_text("<html><body>Not Found</body></html>")
    with pytest.raises(CheckpointError) as error:
        loaders.load_stylegan(path)
    message = str(error.value)
    assert UNSAFE not in message
    assert f"could not be read (not a PyTorch checkpoint: Unsupported operand {ord('<')})" in message


@pytest.mark.parametrize("error", [EOFError(), RuntimeError(""), ValueError("\n\n"), pickle.UnpicklingError("")])
def test_errors_without_text_still_give_a_full_message(tmp_path, error):
    message = str(unreadable(tmp_path / "x.pth", "hfgi.pth", "download it again (the release)", error))
    assert message == (
        f"hfgi.pth at {tmp_path / 'x.pth'} could not be read ({type(error).__name__}). "
        "The file is truncated, corrupt or not a checkpoint: download it again (the release)."
    )


def test_object_array_npz_is_refused_as_unsafe(tmp_path):
    spec = OFFICIAL_FILES["wplus_pca"]
    path = tmp_path / spec.filename
    np.savez(path, X_mean=np.array([{"a": 1}], dtype=object), X_comp=np.zeros((512, 512)), X_stdev=np.ones(512))
    with pytest.raises(CheckpointError, match=UNSAFE):
        loaders.load_wplus_pca(path)


def test_weights_with_nan_are_refused_naming_the_keys(tmp_path):
    from styleheat_core.io.loaders import load_motion_networks

    path = write_fake(OFFICIAL_FILES["styleheat"], tmp_path)
    container = torch.load(path, weights_only=True)
    container["net_G_ema"]["calibrator.final_conv.0.weight"][0, 0, 0, 0] = float("nan")
    torch.save(container, path)
    with pytest.raises(CheckpointError, match=r"NaN or infinite values in calibrator\.final_conv\.0\.weight") as error:
        load_motion_networks(path)
    assert str(path) in str(error.value) and "StyleHEAT_visual.pt" in str(error.value)
