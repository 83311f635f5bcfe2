"""`python -m styleheat_core.render`: one process and torchrun (gloo, 2 ranks) on recipe-weight checkpoints, and its input errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from scripts.comfyui_server import free_port
from styleheat_core.preprocess.video_io import read_soundtrack
from styleheat_core.render.__main__ import main
from styleheat_core.render.distributed import Ranks, segment_folder
from styleheat_core.render.job import StyleEdit
from tests.support.clips import cut_clip
from tests.support.model_folder import recipe_model_folder
from tests.support.pack import ROOT
from tests.support.preprocess import DRIVING_VIDEO, MEDIA_DIR, PORTRAIT, TALKING_VIDEO
from tests.support.tiny_render import decoded, psnr

FRAMES = 5
pytestmark = [pytest.mark.media, pytest.mark.skipif(not MEDIA_DIR.is_dir(), reason=f"real media folder {MEDIA_DIR} is absent")]


def cli(cwd, *args: str, torchrun: int = 0) -> subprocess.CompletedProcess:
    """Run the renderer from `cwd` (relative paths resolve there), the package importable from the repository."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(torchrun), "--master_port", str(free_port())] if torchrun else [sys.executable]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1" if torchrun else os.environ.get("OMP_NUM_THREADS", "2"))
    command = [*launcher, "-m", "styleheat_core.render", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    cut_clip(TALKING_VIDEO, folder / "driving.mp4", FRAMES)
    (folder / "portrait.png").symlink_to(PORTRAIT)
    common = ("--portrait", "portrait.png", "--video", "driving.mp4", "--models", str(recipe_model_folder()), "--size", "256", "--chunk", "2",
              "--cache", "cache")
    return folder, common


@pytest.fixture(scope="module")
def single(job):
    folder, common = job
    result = cli(folder, *common, "--out", "out/single.mp4")
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "out" / "single.mp4", result


@pytest.mark.slow
def test_one_process_streams_a_video_with_the_driving_sound(single):
    path, result = single
    frames, duration = decoded(path)
    assert len(frames) == FRAMES and frames[0].shape == (896, 640, 3)  # pasted back into the portrait
    assert abs(duration - FRAMES / 25) <= 1 / 25
    assert "render: 100%" in result.stderr and ("frame/s" in result.stderr or "s/frame" in result.stderr)  # tqdm: frames, rate, ETA
    assert f"wrote {path}" in result.stdout


@pytest.mark.slow
def test_torchrun_two_ranks_join_segments_in_order_with_the_sound(job, single):
    folder, common = job
    result = cli(folder, *common, "--out", "out/ranks.mp4", "--cuda-graphs", torchrun=2)  # the flag is accepted; on the CPU it changes nothing
    assert result.returncode == 0, result.stderr[-3000:]
    joined, joined_duration = decoded(folder / "out" / "ranks.mp4")
    alone, alone_duration = decoded(single[0])
    assert len(joined) == FRAMES
    scores = [psnr(a, b) for a, b in zip(joined, alone)]
    assert min(scores) >= 40, scores
    assert abs(joined_duration - alone_duration) < 1e-6
    sound_joined, sound_alone = read_soundtrack(folder / "out" / "ranks.mp4")[0], read_soundtrack(single[0])[0]
    assert sound_joined.shape == sound_alone.shape and np.abs(sound_joined - sound_alone).max() < 1e-4
    assert not segment_folder(folder / "out" / "ranks.mp4").exists()
    assert "rank 0" in result.stderr and "rank 1" in result.stderr


@pytest.mark.slow
def test_a_silent_driving_video_is_reported(tmp_path):
    cut_clip(DRIVING_VIDEO, tmp_path / "silent.mp4", 2)
    result = cli(tmp_path, "--portrait", str(PORTRAIT), "--video", "silent.mp4", "--out", "o.mp4", "--models", str(recipe_model_folder()),
                 "--size", "256", "--face-only", "--cache", "cache")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "silent.mp4 has no sound, so the video is silent" in result.stdout
    frames, duration = decoded(tmp_path / "o.mp4")
    assert len(frames) == 2 and frames[0].shape == (256, 256, 3) and duration is None


def test_bad_arguments_name_what_to_change(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.png").symlink_to(PORTRAIT)
    models = ("--models", str(tmp_path / "empty"))
    cases = [
        (("--portrait", "p.png", "--video", "missing.mp4", "--out", "o.mp4"), "--video .*missing.mp4 does not exist"),
        (("--portrait", "p.png", "--video", "p.png", "--out", "o.avi"), "--out must name an .mp4 file"),
        (("--portrait", "p.png", "--video", "p.png", "--out", "o.mp4", "--frames", "-2"), "--frames must be >= 0"),
        (("--portrait", "p.png", "--video", "p.png", "--out", "o.mp4", "--edit", "tan=3"), "unknown edit 'tan'"),
        (("--portrait", "p.png", "--video", "p.png", "--out", "o.mp4", "--crf", "80"), r"quality \(crf\) must be an integer from 0"),
        (("--portrait", "p.png", "--video", "p.png", "--out", "o.mp4", *models), "Deep3D/epoch_20.pth .* is not in .*empty.*styleheat_core.download"),
    ]
    for args, message in cases:
        assert main(list(args)) == 1
        assert re.search(message, capsys.readouterr().err), args
    with pytest.raises(SystemExit):
        main(["--portrait", "p.png", "--video", "a.mp4", "--audio", "b.wav", "--out", "o.mp4"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_frames_are_shared_contiguously_and_edits_parse():
    shares = [Ranks(rank, 3).share(10) for rank in range(3)]
    assert [list(s) for s in shares] == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    assert [len(Ranks(rank, 4).share(2)) for rank in range(4)] == [0, 1, 0, 1]
    assert StyleEdit.parse("age=5:linear") == StyleEdit("age", 5.0, "linear")
    with pytest.raises(ValueError, match="NAME=STRENGTH"):
        StyleEdit.parse("age")
