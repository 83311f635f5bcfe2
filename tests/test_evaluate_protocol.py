"""The protocols end to end on the shared media: recipe StyleHEAT weights, stand-in metric weights (numbers meaningless)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from styleheat_core.evaluate import protocol
from styleheat_core.evaluate.__main__ import main
from styleheat_core.evaluate.frames import read_frames
from tests.support.clips import cut_clip
from tests.support.metrics import standin_metric_folder
from tests.support.model_folder import recipe_model_folder
from tests.support.pack import node, results
from tests.support.preprocess import DRIVING_VIDEO, FFHQ_PORTRAIT, needs_media

pytestmark = pytest.mark.slow
FRAMES = 2


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """The recipe model folder (linked) plus stand-in metric networks under metrics/."""
    folder = tmp_path_factory.mktemp("models")
    for entry in recipe_model_folder().iterdir():
        (folder / entry.name).symlink_to(entry)
    return standin_metric_folder(folder)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    cut_clip(DRIVING_VIDEO, folder / "hdtf.mp4", FRAMES + 1)
    return folder


def _protocol(*args: str) -> int:
    return main(["protocol", *args, "--size", "256", "--max-frames", str(FRAMES), "--no-progress"])


@needs_media
def test_same_id_end_to_end_then_resumed_without_rendering(models, videos, tmp_path, monkeypatch, capsys):
    out = tmp_path / "same"
    assert _protocol("same-id", "--videos", str(videos), "--models", str(models), "--out", str(out)) == 0
    first = json.loads((out / "report.json").read_text())
    assert list(first["metrics"]) == ["psnr", "ssim", "lpips", "fid", "csim"]
    for name, metric in first["metrics"].items():
        assert metric["frames"] == FRAMES and np.isfinite(metric["value"]), name
    assert 0 < first["metrics"]["ssim"]["value"] < 1 and -1 <= first["metrics"]["csim"]["value"] <= 1
    assert [c["clip"] for c in first["clips"]] == ["hdtf"] and len(list((out / "clips").iterdir())) == 1
    assert "PSNR ↑" in capsys.readouterr().out

    def no_rendering(*args, **kwargs):
        raise AssertionError("a finished clip was rendered again")

    monkeypatch.setattr(protocol, "render_clip", no_rendering)
    assert _protocol("same-id", "--videos", str(videos), "--models", str(models), "--out", str(out)) == 0
    assert json.loads((out / "report.json").read_text()) == first


@needs_media
def test_cross_id_end_to_end(models, videos, tmp_path, capsys):
    portraits = tmp_path / "portraits"
    portraits.mkdir()
    (portraits / "ffhq.jpg").symlink_to(FFHQ_PORTRAIT)
    out = tmp_path / "cross"
    assert _protocol("cross-id", "--portraits", str(portraits), "--videos", str(videos), "--models", str(models), "--out", str(out)) == 0
    report = json.loads((out / "report.json").read_text())
    assert list(report["metrics"]) == ["fid", "csim", "aed", "apd"] and report["clips"][0]["clip"] == "hdtf__ffhq"
    assert report["metrics"]["csim"]["frames"] == FRAMES and np.isfinite(report["metrics"]["fid"]["value"])
    # Recipe weights render no face, so the Deep3D distances have no frame to measure: reported as such, not as numbers.
    assert report["metrics"]["aed"] == {"value": None, "frames": 0} and report["metrics"]["apd"]["frames"] == 0
    assert "n/a" in capsys.readouterr().out


@needs_media
def test_protocol_renders_what_the_nodes_render(models, videos, monkeypatch):
    """render_clip equals the video-reenactment node graph (Face Align, Invert, 3DMM Extract, Video Flow, Warp, Calibrate, Decode)."""
    driving = read_frames(videos / "hdtf.mp4", FRAMES)
    rendered = protocol.render_clip(protocol.load_styleheat_models(models), driving[0], driving, 256, 4, None)
    ours = np.concatenate(list(rendered.frames))
    monkeypatch.setenv("STYLEHEAT_MODELS_DIR", str(models))
    monkeypatch.setenv("STYLEHEAT_CACHE_DIR", str(models.parent / "cache"))
    images = torch.from_numpy(driving).float() / 255.0
    stylegan = node("StyleHEAT_LoadStyleGAN").load("StyleGAN_e4e.pth", "fp32")[0]
    encoder = node("StyleHEAT_LoadEncoder").load("Encoder_e4e.pth", "hfgi.pth", "fp32")[0]
    motion_models = node("StyleHEAT_LoadMotionModels").load("StyleHEAT_visual.pt", "fp32")[0]
    deep3d = node("StyleHEAT_LoadDeep3D").load("Deep3D/epoch_20.pth", "BFM/similarity_Lm3D_all.mat", "fp32")[0]
    aligned = results(node("StyleHEAT_FaceAlign").run(images[:1], "1024", 0))[0]
    latent = results(node("StyleHEAT_Invert").run(stylegan, encoder, aligned, 0))[0]
    coefficients = node("StyleHEAT_3DMMExtract").run(deep3d, images, "fixed", False, False, 0.0, 0, "error")[0]
    flow = node("StyleHEAT_VideoFlow").run(motion_models, coefficients)[0]
    features = node("StyleHEAT_Calibrate").run(node("StyleHEAT_WarpFeatures").run(latent, flow)[0], motion_models)[0]
    frames = node("StyleHEAT_StyleGANDecode").run(stylegan, features, "256", 4, 25.0)[0]
    expected = (frames.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    assert ours.shape == (FRAMES, 256, 256, 3)
    # Equal up to the rounding of float noise to 8 bits (a few pixels in 10^4 off by one level).
    diff = np.abs(ours.astype(int) - expected.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
