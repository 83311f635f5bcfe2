"""The README's main job: scripts/main_job.sh (paths, checks before setup, --size) and scripts/run_main_job.py
(portrait + driving video -> an mp4 through a real ComfyUI, with progress on stderr)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import av
import pytest

from scripts.run_main_job import ProgressEcho, run
from tests.support.clips import cut_clip
from tests.support.model_folder import recipe_model_folder
from tests.support.pack import ROOT
from tests.support.preprocess import PORTRAIT, TALKING_VIDEO, needs_media


@pytest.fixture()
def stub_repository(tmp_path):
    """A copy of main_job.sh whose setup scripts and .venv python only record how they were called (in `log`)."""
    repository, log = tmp_path / "repository", tmp_path / "calls.log"
    (repository / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "main_job.sh", repository / "scripts")
    for name in ("setup.sh", "setup_comfyui.sh"):
        (repository / "scripts" / name).write_text(f'echo "{name}" >> "{log}"\n')
    python = repository / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "python $*" >> "{log}"\n')
    python.chmod(0o755)
    caller = tmp_path / "caller"
    caller.mkdir()
    (caller / "me.jpg").write_bytes(b"portrait")
    (caller / "clip.mp4").write_bytes(b"video")
    return repository, caller, log


def _main_job(repository: Path, caller: Path, *arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "STYLEHEAT_MODELS_DIR"} | (env or {})
    return subprocess.run(["bash", str(repository / "scripts" / "main_job.sh"), *arguments], cwd=caller, capture_output=True, text=True, env=environment)


def test_paths_are_resolved_against_the_callers_folder_and_size_is_passed_on(stub_repository):
    repository, caller, log = stub_repository
    result = _main_job(repository, caller, "me.jpg", "clip.mp4", "renders/talking.mp4", "--size", "512")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[:2] == ["setup.sh", "setup_comfyui.sh"]
    assert calls[2].startswith(f"python -m styleheat_core.download --dest {repository / 'models' / 'styleheat'} --yes")
    assert calls[3] == (
        f"python -m scripts.run_main_job --portrait {caller / 'me.jpg'} --video {caller / 'clip.mp4'} "
        f"--out {caller / 'renders' / 'talking.mp4'} --models {repository / 'models' / 'styleheat'} --size 512"
    )
    assert (caller / "renders").is_dir() and list((caller / "renders").iterdir()) == []


def test_models_folder_from_the_environment_is_relative_to_the_caller_too(stub_repository):
    repository, caller, log = stub_repository
    result = _main_job(repository, caller, "me.jpg", "clip.mp4", env={"STYLEHEAT_MODELS_DIR": "weights"})
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert f"--dest {caller / 'weights'} " in calls[2]
    assert calls[3].endswith(f"--out {caller / 'talking.mp4'} --models {caller / 'weights'} --size 1024")


@pytest.mark.parametrize(
    ("arguments", "message", "code"),
    [
        (["missing.jpg", "clip.mp4"], "portrait {caller}/missing.jpg does not exist", 1),
        (["me.jpg", "missing.mp4", "out.mp4"], "driving video {caller}/missing.mp4 does not exist", 1),
        (["me.jpg", "clip.mp4", "me.jpg/out.mp4"], "cannot create the output folder {caller}/me.jpg", 1),
        (["me.jpg", "clip.mp4", "/proc/styleheat/out.mp4"], "cannot create the output folder /proc/styleheat", 1),
        (["me.jpg", "clip.mp4", "."], "output {caller} is a folder", 1),
        (["me.jpg", "clip.mp4", "--size", "300"], "--size must be 1024, 512 or 256 (got '300')", 2),
        (["me.jpg"], "usage: bash scripts/main_job.sh", 2),
    ],
)
def test_bad_arguments_fail_before_any_setup(stub_repository, arguments, message, code):
    repository, caller, log = stub_repository
    result = _main_job(repository, caller, *arguments)
    assert result.returncode == code
    assert message.format(caller=caller) in result.stderr
    assert not log.exists()  # neither setup script nor python ran


def test_an_output_folder_that_is_not_writable_fails_before_any_setup(stub_repository):
    repository, caller, log = stub_repository
    locked = caller / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: a read-only mount stands in for it
            locked = Path("/proc/self")
        result = _main_job(repository, caller, "me.jpg", "clip.mp4", str(locked / "out.mp4"))
    finally:
        (caller / "locked").chmod(0o700)
    assert result.returncode == 1 and ("is not writable" in result.stderr or "cannot create" in result.stderr), result.stderr
    assert not log.exists()


def test_progress_lines_name_the_node_and_give_counts_elapsed_and_eta():
    now = [100.0]
    stream = io.StringIO()
    echo = ProgressEcho({"14": "StyleGAN Decode"}, stream, clock=lambda: now[0], interval=1.0)
    echo({"type": "executing", "data": {"node": "14", "prompt_id": "p"}})
    for value, at in ((1, 110.0), (2, 110.5), (3, 120.0), (4, 130.0)):
        now[0] = at
        echo({"type": "progress", "data": {"node": "14", "value": value, "max": 4, "prompt_id": "p"}})
    echo({"type": "status", "data": {}})
    assert stream.getvalue().splitlines() == [
        "StyleGAN Decode: 1/4, 0:10 elapsed, ETA 0:30",  # 10 s per frame so far, 3 to go
        "StyleGAN Decode: 3/4, 0:20 elapsed, ETA 0:07",  # the update at 110.5 s came within a second
        "StyleGAN Decode: 4/4, 0:30 elapsed, ETA 0:00",
    ]


def test_progress_of_a_node_without_title_or_start_names_its_id():
    stream = io.StringIO()
    ProgressEcho({}, stream, clock=lambda: 5.0)({"type": "progress", "data": {"node": 7, "value": 0, "max": 3}})
    assert stream.getvalue() == "node 7: 0/3, 0:00 elapsed, ETA unknown\n"


@needs_media
def test_main_job_writes_a_talking_video_with_sound_and_shows_progress(tmp_path):
    clip = cut_clip(TALKING_VIDEO, tmp_path / "clip.mp4", 2)
    progress = io.StringIO()
    out = run(PORTRAIT, clip, tmp_path / "result" / "talking.mp4", recipe_model_folder(), size="256", progress=progress)
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert container.streams.audio
    assert len(frames) == 2
    assert frames[0].shape[:2] == (896, 640)  # pasted back into the full-size portrait
    lines = progress.getvalue().splitlines()
    assert any(line.startswith("Render Video: 2/2, ") and "elapsed, ETA 0:00" in line for line in lines), lines


def test_main_job_names_a_missing_input(tmp_path):
    portrait = tmp_path / "me.png"
    portrait.write_bytes(b"portrait")
    with pytest.raises(FileNotFoundError, match="driving video"):
        run(portrait, tmp_path / "missing.mp4", tmp_path / "out.mp4", tmp_path)
