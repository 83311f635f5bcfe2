"""Every writer of the core goes through io/atomic.py: a failure mid-write leaves nothing under the final name."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from styleheat_core.convert import convert_file
from styleheat_core.download import extract_member
from styleheat_core.io import atomic
from styleheat_core.io.atomic import atomic_open, atomic_path, atomic_write_text
from styleheat_core.io.layouts import OFFICIAL_FILES
from styleheat_core.io.stand_in import stand_in_container, write_official_file
from styleheat_core.preprocess import __main__ as preprocess_cli
from styleheat_core.preprocess.motion_cache import save_entry
from styleheat_core.train.checkpoint import save_checkpoint
from styleheat_core.train.shards import Manifest, write_shard
from tests.support.fake_checkpoints import write_fake


class Interrupted(Exception):
    """Stands for a crash, a full disk or Ctrl-C in the middle of a write."""


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_an_exception_mid_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old")
    with pytest.raises(Interrupted), atomic_open(path, "w") as handle:
        handle.write("new, half")
        raise Interrupted
    assert path.read_text() == "old"
    assert _leftovers(tmp_path) == ["state.json"]


def test_an_exception_mid_write_leaves_no_new_file(tmp_path):
    path = tmp_path / "sub" / "weights.pt"
    with pytest.raises(Interrupted), atomic_path(path) as temporary:
        temporary.write_bytes(b"half a file")
        assert temporary.parent == path.parent and temporary.name.startswith(".") and temporary.name.endswith(".tmp")
        raise Interrupted
    assert not path.exists() and _leftovers(tmp_path) == []


def test_a_completed_write_replaces_the_file_and_keeps_the_suffix_when_asked(tmp_path):
    atomic_write_text(tmp_path / "a.json", "1")
    atomic_write_text(tmp_path / "a.json", "2")
    with atomic_path(tmp_path / "image.png", keep_suffix=True) as temporary:
        assert temporary.suffix == ".png"
        temporary.write_bytes(b"png")
    assert (tmp_path / "a.json").read_text() == "2" and _leftovers(tmp_path) == ["a.json", "image.png"]


def test_a_writer_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing was written"), atomic_path(tmp_path / "x.pt"):
        pass
    assert _leftovers(tmp_path) == []


def _checkpoint(folder: Path, monkeypatch):
    container = {"current_iteration": 3, "net_G": {}, "net_G_ema": {}}
    return lambda: save_checkpoint(folder, container), [folder / "checkpoints" / "iteration_00000003.pt", folder / "checkpoints" / "latest.pt"]


def _shard(folder: Path, monkeypatch):
    path = folder / "shard.safetensors"
    return lambda: write_shard(path, {"frames": np.zeros((2, 8, 8, 3), np.uint8)}, {"semantics": torch.zeros(2, 73)}, {}), [path]


def _manifest(folder: Path, monkeypatch):
    return lambda: Manifest({"size": 256}).save(folder), [folder / "manifest.json"]


def _motion_cache(folder: Path, monkeypatch):
    path = folder / "cache" / "key.safetensors"
    return lambda: save_entry(path, {"vectors": torch.zeros(3, 73)}, {"mode": "fixed"}), [path]


def _convert(folder: Path, monkeypatch):
    source = write_fake(OFFICIAL_FILES["interfacegan_age"], folder / "official")
    return lambda: convert_file(source, folder / "converted"), [folder / "converted" / "age.safetensors"]


def _stand_in(folder: Path, monkeypatch):
    spec = OFFICIAL_FILES["ganspace"]
    return lambda: write_official_file(spec, folder, stand_in_container(spec)), [folder / spec.filename]


def _extracted(folder: Path, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("dirs/age.pt", b"direction bytes")
    (folder / "bundle.zip").write_bytes(buffer.getvalue())
    return lambda: extract_member(folder / "bundle.zip", "age.pt", folder / "age.pt"), [folder / "age.pt"]


def _aligned_portrait(folder: Path, monkeypatch):
    aligned = SimpleNamespace(
        image=np.zeros((16, 16, 3), np.uint8), source_landmarks=np.zeros((68, 2)), landmarks=np.zeros((68, 2)), transform=SimpleNamespace(as_dict=dict)
    )
    monkeypatch.setattr(preprocess_cli, "read_image", lambda path: aligned.image)
    monkeypatch.setattr(preprocess_cli, "DlibBackend", lambda predictor: None)
    monkeypatch.setattr(preprocess_cli, "align_portrait", lambda image, backend, size, face_index: aligned)
    out = folder / "out" / "aligned.png"
    return lambda: preprocess_cli.align_command(folder / "in.jpg", out, 16, 0, None), [out]


WRITERS = {
    "training checkpoint": _checkpoint,
    "training shard": _shard,
    "dataset manifest": _manifest,
    "3DMM motion cache": _motion_cache,
    "convert": _convert,
    "stand-in weights": _stand_in,
    "downloaded archive member": _extracted,
    "preprocess align CLI": _aligned_portrait,
}


@pytest.mark.parametrize("name", WRITERS)
def test_every_writer_commits_through_the_atomic_helper(tmp_path, monkeypatch, name):
    """A failure at the last moment of the helper (after the content, before the rename) leaves no final file."""
    (tmp_path / "done").mkdir()
    write, finals = WRITERS[name](tmp_path / "done", monkeypatch)
    write()
    assert all(path.is_file() and path.stat().st_size > 0 for path in finals)

    def failing_flush(path: Path) -> None:
        assert path.stat().st_size > 0  # the writer did write its content into the temporary file
        raise Interrupted

    folder = tmp_path / "failed"
    folder.mkdir()
    write, finals = WRITERS[name](folder, monkeypatch)
    before = _leftovers(folder)
    monkeypatch.setattr(atomic, "_fsync_file", failing_flush)
    with pytest.raises(Interrupted):
        write()
    assert not [path for path in finals if path.exists()]
    assert _leftovers(folder) == before
