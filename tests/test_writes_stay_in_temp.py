"""The test suite writes only into temporary folders: a node graph run leaves $HOME and the repository untouched."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from styleheat_core.preprocess.video_io import iter_video_frames
from tests.support.model_folder import recipe_cache_root, recipe_model_folder
from tests.support.pack import ROOT, node, results
from tests.support.preprocess import PORTRAIT, TALKING_VIDEO, needs_media, rgb
from tests.support.snapshot import changes, tree_state


def test_caches_of_the_session_are_temporary(temporary_cache_folder, tmp_path_factory):
    assert Path(os.environ["STYLEHEAT_CACHE_DIR"]) == temporary_cache_folder
    assert temporary_cache_folder.is_relative_to(tmp_path_factory.getbasetemp())
    for folder in (temporary_cache_folder, recipe_cache_root()):
        assert not folder.resolve().is_relative_to(ROOT.resolve()) and not folder.resolve().is_relative_to(Path.home().resolve())


@pytest.mark.slow
@needs_media
def test_a_node_graph_writes_nothing_to_home_or_the_repository(tmp_path, monkeypatch, temporary_cache_folder):
    models = recipe_model_folder()
    assert not models.resolve().is_relative_to(ROOT.resolve())
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # whatever resolves ~ during the run lands here
    monkeypatch.setenv("STYLEHEAT_MODELS_DIR", str(models))
    # Mirrored frames: content no other test extracts, so the 3DMM cache must write a new entry.
    driving = np.stack([frame[:, ::-1] for _, frame in zip(range(2), iter_video_frames(TALKING_VIDEO))])
    cached = set(temporary_cache_folder.rglob("*.safetensors"))
    repository = tree_state(ROOT)

    stylegan = node("StyleHEAT_LoadStyleGAN").load("StyleGAN_e4e.pth", "fp32")[0]
    encoder = node("StyleHEAT_LoadEncoder").load("Encoder_e4e.pth", "hfgi.pth", "fp32")[0]
    motion_models = node("StyleHEAT_LoadMotionModels").load("StyleHEAT_visual.pt", "fp32")[0]
    deep3d = node("StyleHEAT_LoadDeep3D").load("Deep3D/epoch_20.pth", "BFM/similarity_Lm3D_all.mat", "fp32")[0]
    portrait = torch.from_numpy(rgb(PORTRAIT)).float()[None] / 255.0
    aligned, crop = results(node("StyleHEAT_FaceAlign").run(portrait, "1024", 0))
    latent, _ = results(node("StyleHEAT_Invert").run(stylegan, encoder, aligned, 0))
    (coefficients,) = node("StyleHEAT_3DMMExtract").run(deep3d, torch.from_numpy(driving.copy()).float() / 255.0, "fixed", False, False, 0.0, 0, "error")
    (flow,) = node("StyleHEAT_VideoFlow").run(motion_models, coefficients)
    (features,) = node("StyleHEAT_WarpFeatures").run(latent, flow)
    (calibrated,) = node("StyleHEAT_Calibrate").run(features, motion_models)
    frames, _, _ = node("StyleHEAT_StyleGANDecode").run(stylegan, calibrated, "256", 2, 25.0)
    images, _ = node("StyleHEAT_PasteBack").run(portrait, frames, crop, "face", 0.06)

    assert images.shape == (2, *portrait.shape[1:])
    assert len(set(temporary_cache_folder.rglob("*.safetensors")) - cached) == 1  # the graph did write its cache, here
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []
    assert changes(repository, tree_state(ROOT)) == []
