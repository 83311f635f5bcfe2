"""scripts/build_workflows.py: --help starts nothing, --check compares without writing and exits 1 on drift."""

from __future__ import annotations

import json
import shutil

import pytest

from scripts import build_workflows
from tests.support.pack import ROOT
from tests.support.snapshot import changes, tree_state

WORKFLOWS = ROOT / "workflows"


@pytest.fixture(scope="module")
def object_info():
    return build_workflows.fetch_object_info()


def test_help_starts_no_server_and_changes_no_file(monkeypatch, capsys):
    def no_server():
        raise AssertionError("--help started a server")

    monkeypatch.setattr(build_workflows, "fetch_object_info", no_server)
    before = tree_state(WORKFLOWS)
    with pytest.raises(SystemExit) as exit_status:
        build_workflows.main(["--help"])
    assert exit_status.value.code == 0
    assert "--check" in capsys.readouterr().out
    assert changes(before, tree_state(WORKFLOWS)) == []


def test_check_finds_the_repository_up_to_date_and_changes_no_file(monkeypatch, capsys, object_info):
    monkeypatch.setattr(build_workflows, "fetch_object_info", lambda: object_info)
    before = tree_state(WORKFLOWS)
    assert build_workflows.main(["--check"]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out.strip().endswith("is up to date")
    assert changes(before, tree_state(WORKFLOWS)) == []


def test_check_reports_drift_and_exits_1_without_writing(tmp_path, monkeypatch, capsys, object_info):
    monkeypatch.setattr(build_workflows, "fetch_object_info", lambda: object_info)
    folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, folder)
    edited = json.loads((folder / "api" / "video_reenactment.json").read_text())
    edited["14"]["inputs"]["chunk_size"] = 9
    (folder / "api" / "video_reenactment.json").write_text(json.dumps(edited, indent=1) + "\n")
    (folder / "Speech-driven talking face.json").unlink()
    (folder / "api" / "my_graph.json").write_text("{}\n")
    before = tree_state(folder)
    assert build_workflows.main(["--check", "--dir", str(folder)]) == 1
    report = capsys.readouterr().out
    assert "differs  api/video_reenactment.json" in report and '"chunk_size": 9' in report
    assert "missing  Speech-driven talking face.json" in report
    assert "unknown  api/my_graph.json" in report
    assert "3 difference(s)" in report
    assert changes(before, tree_state(folder)) == []


def test_writing_regenerates_exactly_the_checked_files(tmp_path, monkeypatch, capsys, object_info):
    monkeypatch.setattr(build_workflows, "fetch_object_info", lambda: object_info)
    folder = tmp_path / "workflows"
    assert build_workflows.main(["--dir", str(folder)]) == 0
    for path in folder.rglob("*.json"):
        assert path.read_bytes() == (WORKFLOWS / path.relative_to(folder)).read_bytes(), path
    assert build_workflows.main(["--check", "--dir", str(folder)]) == 0
