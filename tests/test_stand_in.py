"""python -m styleheat_core.download --stand-in DIR: deterministic stand-in weights that every loader accepts."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from styleheat_core.download import download_missing, main
from styleheat_core.io import loaders
from styleheat_core.io.layouts import OFFICIAL_FILES
from styleheat_core.io.sources import SOURCES
from styleheat_core.io.stand_in import STAND_IN_MANIFEST, sha256_of
from tests.support.every_loader import every_load
from tests.support.fake_checkpoints import write_fake
from tests.support.pack import ROOT

# One file of each format, with networks, plain tensors, PCA and landmarks.
SMALL = ["hfgi", "ganspace", "wplus_pca", "bfm_landmarks", "expression_presets", "interfacegan_age", "sadtalker_audio2exp"]


@pytest.fixture()
def large_folder(tmp_path):
    """A folder for the full 1.8 GB set, removed afterwards (pytest keeps the last runs' temporary folders)."""
    folder = tmp_path / "stand-in"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_every_loader_loads_every_stand_in_file(large_folder, capsys):
    assert main(["--stand-in", str(large_folder)]) == 0
    assert "faces come out as noise" in capsys.readouterr().out
    for key, spec in OFFICIAL_FILES.items():
        assert (large_folder / spec.filename).stat().st_size > 0, key
    assert set(json.loads((large_folder / STAND_IN_MANIFEST).read_text())["files"]) == {spec.filename for spec in OFFICIAL_FILES.values()}
    loaded = {name: load() for name, load in every_load(large_folder).items()}
    generator = loaded["load_stylegan"]
    with torch.no_grad():
        w = generator.get_latent(torch.randn(1, 512, generator=torch.Generator().manual_seed(0)))
        image = generator(w[:, None].expand(-1, generator.n_latent, -1)).image
    assert image.shape == (1, 3, 1024, 1024) and torch.isfinite(image).all() and image.std() > 0.01
    direction = loaded["load_direction_file[age]"]
    assert direction.shape == (1, 512) and float(direction.norm()) == pytest.approx(1.0, abs=1e-5)
    pca = loaded["load_ganspace_pca"]
    assert bool((pca.std > 0).all()) and torch.allclose(pca.comp.reshape(pca.comp.shape[0], -1).norm(dim=1), torch.ones(pca.comp.shape[0]))


def test_stand_ins_are_the_same_bytes_in_every_run(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["--stand-in", str(first), "--only", *SMALL]) == 0
    command = [sys.executable, "-m", "styleheat_core.download", "--stand-in", str(second), "--only", *SMALL]
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True)
    for key in SMALL:
        name = OFFICIAL_FILES[key].filename
        assert sha256_of(first / name) == sha256_of(second / name), name
    assert (first / STAND_IN_MANIFEST).read_bytes() == (second / STAND_IN_MANIFEST).read_bytes()


def test_stand_in_landmarks_are_face_shaped(tmp_path):
    main(["--stand-in", str(tmp_path), "--only", "bfm_landmarks"])
    eyes_left, eyes_right, nose, mouth_left, mouth_right = loaders.load_standard_landmarks(tmp_path / OFFICIAL_FILES["bfm_landmarks"].filename)
    np.testing.assert_allclose(eyes_left[[0, 1]] * [-1, 1], eyes_right[[0, 1]], atol=1e-9)  # mirror images
    assert eyes_left[0] < nose[0] < eyes_right[0] and mouth_left[0] < nose[0] < mouth_right[0]
    assert mouth_left[1] < nose[1] < eyes_left[1] and nose[2] > eyes_left[2]  # y up, nose in front
    assert np.linalg.norm(eyes_right - eyes_left) == pytest.approx(0.62, abs=0.05)


def test_stand_in_never_replaces_a_file_and_the_downloader_names_stand_ins(tmp_path, capsys):
    real = write_fake(OFFICIAL_FILES["hfgi"], tmp_path)
    before = real.read_bytes()
    assert main(["--stand-in", str(tmp_path), "--only", "hfgi", "ganspace"]) == 0
    assert real.read_bytes() == before
    assert "kept     hfgi.pth (a file that is not a stand-in is already there; left untouched)" in capsys.readouterr().out
    report = io.StringIO()
    assert download_missing(tmp_path, ["hfgi", "ganspace"], SOURCES, assume_yes=True, out=report, err=io.StringIO()) == 0
    lines = report.getvalue().splitlines()
    assert "ok       hfgi.pth (present, verified)" in lines
    assert any(line.startswith("ok       ffhq_pca.pt (present: STAND-IN weights") and "delete it to download the official file" in line for line in lines)


def test_unknown_stand_in_key_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        main(["--stand-in", str(tmp_path), "--only", "stylegan3"])
    assert not tmp_path.joinpath(STAND_IN_MANIFEST).exists()
