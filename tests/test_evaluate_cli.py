"""`python -m styleheat_core.evaluate compare` end to end on frames made here, and its refusals of bad input."""

import csv
import json
import re
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from styleheat_core.evaluate.__main__ import main
from styleheat_core.evaluate.psnr_ssim import psnr, ssim
from tests.support.metrics import write_standin


def _frames(count: int, size: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size)[None, :, None] * np.ones((size, 1, 3))
    return np.clip(base[None] + rng.normal(0, 30, (count, size, size, 3)), 0, 255).astype(np.uint8)


def _folder(path: Path, frames: np.ndarray, suffix: str = ".png") -> Path:
    path.mkdir(parents=True)
    for index, frame in enumerate(frames):
        if suffix == ".npy":
            np.save(path / f"frame_{index}.npy", frame.astype(np.float32) / 255.0)
        else:
            cv2.imwrite(str(path / f"frame_{index}{suffix}"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


def _video(path: Path, frames: np.ndarray) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    write_standin("metric_alexnet", folder, seed=1)
    write_standin("metric_lpips_alex", folder, seed=2)
    write_standin("metric_fid_inception", folder, seed=3)
    return folder


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["compare", "--no-progress", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_compare_folders_writes_table_json_and_csv(tmp_path, capsys, models):
    ref = _frames(4, seed=1)
    pred = np.clip(ref.astype(int) + np.random.default_rng(2).integers(-20, 21, ref.shape), 0, 255).astype(np.uint8)
    out = tmp_path / "out"
    code, stdout, _ = _run(capsys, "--pred", str(_folder(tmp_path / "pred", pred)), "--ref", str(_folder(tmp_path / "ref", ref)),
                           "--models", str(models), "--out", str(out), "--metrics", "psnr", "ssim", "lpips", "fid")
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    expected_psnr = psnr(torch.from_numpy(pred), torch.from_numpy(ref)).mean().item()
    expected_ssim = ssim(torch.from_numpy(pred), torch.from_numpy(ref)).mean().item()
    assert report["metrics"]["psnr"]["value"] == pytest.approx(expected_psnr, rel=1e-12)
    assert report["metrics"]["ssim"]["value"] == pytest.approx(expected_ssim, rel=1e-12)
    assert report["metrics"]["lpips"]["value"] > 0 and report["metrics"]["fid"]["value"] > 0
    assert all(report["metrics"][m]["frames"] == 4 for m in ("psnr", "ssim", "lpips", "fid"))
    rows = list(csv.DictReader((out / "report.csv").open()))
    assert [r["clip"] for r in rows] == ["pred vs ref", "all"] and float(rows[1]["psnr"]) == pytest.approx(expected_psnr)
    assert rows[0]["fid"] == "" and float(rows[1]["fid"]) == pytest.approx(report["metrics"]["fid"]["value"])
    assert "PSNR ↑" in stdout and f"{expected_psnr:.4f}" in stdout and "report.json" in stdout


def test_a_video_against_itself(tmp_path, capsys):
    video = _video(tmp_path / "clip.mp4", _frames(3, size=48))
    out = tmp_path / "out"
    code, _, _ = _run(capsys, "--pred", str(video), "--ref", str(video), "--out", str(out), "--metrics", "psnr", "ssim")
    assert code == 0
    metrics = json.loads((out / "report.json").read_text())["metrics"]
    assert metrics["psnr"]["value"] == "inf" and metrics["ssim"]["value"] == pytest.approx(1.0)
    assert metrics["psnr"]["frames"] == 3


def test_resize_makes_resolutions_comparable(tmp_path, capsys):
    ref = _frames(2, size=64)
    pred = np.stack([cv2.resize(f, (96, 96), interpolation=cv2.INTER_CUBIC) for f in ref])
    args = ("--pred", str(_folder(tmp_path / "pred", pred)), "--ref", str(_folder(tmp_path / "ref", ref)), "--metrics", "psnr", "--out", str(tmp_path / "o"))
    code, _, err = _run(capsys, *args)
    assert code == 2 and "different resolutions: predicted 96x96, reference 64x64" in err and "--resize" in err
    code, _, _ = _run(capsys, *args, "--resize")
    assert code == 0 and json.loads((tmp_path / "o" / "report.json").read_text())["metrics"]["psnr"]["value"] > 25


@pytest.mark.parametrize(
    "case,message",
    [
        ("frame_count", "different numbers of frames: 3 predicted, 2 reference"),
        ("empty", "holds no frames"),
        ("fid_one_frame", "FID needs at least 2 frames on each side; got 1 generated and 1 real.*thousands of frames"),
        ("not_finite", "must hold finite values"),
        ("missing_weights", "metrics/alex.pth .*not found.*--only metric_lpips_alex"),
    ],
)
def test_bad_input_is_refused_with_what_differs(tmp_path, capsys, models, case, message):
    frames = _frames(3)
    pred, ref = tmp_path / "pred", tmp_path / "ref"
    metrics = ["psnr"]
    models_dir = models
    if case == "frame_count":
        _folder(pred, frames), _folder(ref, frames[:2])
    elif case == "empty":
        _folder(pred, frames), ref.mkdir()
    elif case == "fid_one_frame":
        _folder(pred, frames[:1]), _folder(ref, frames[:1])
        metrics = ["fid"]
    elif case == "not_finite":
        _folder(pred, frames), _folder(ref, frames, ".npy")
        bad = np.load(ref / "frame_1.npy")
        bad[3, 4, 0] = np.nan
        np.save(ref / "frame_1.npy", bad)
    else:
        _folder(pred, frames), _folder(ref, frames)
        metrics, models_dir = ["lpips"], tmp_path / "no_models"
    code, stdout, err = _run(capsys, "--pred", str(pred), "--ref", str(ref), "--models", str(models_dir), "--metrics", *metrics, "--out", str(tmp_path / "o"))
    assert code == 2 and stdout == ""
    assert err.startswith("error: ") and "Traceback" not in err
    assert re.search(message, err, flags=re.DOTALL), err
    assert not (tmp_path / "o" / "report.json").exists()
