"""The checkpoint downloader against a local HTTP server serving small fake official files."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from styleheat_core.download import download_missing, human_size, main
from styleheat_core.io.layouts import OFFICIAL_FILES
from styleheat_core.io.sources import Source
from tests.support.fake_checkpoints import write_fake


class FakeRelease(ThreadingHTTPServer):
    """Serves `files` by path; honours Range unless `ignore_range`; cuts the first GET of a path in `cut_after`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.cut_after: dict[str, int] = {}
        self.ignore_range = False
        self.requests: list[tuple[str, str, str | None]] = []

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"

    def gets(self, name: str) -> list[str | None]:
        """Range headers of the GET requests for `name`, in order."""
        return [r for m, p, r in self.requests if m == "GET" and p == "/" + name]


class _Handler(BaseHTTPRequestHandler):
    server: FakeRelease

    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def _respond(self, send_body: bool) -> None:
        name, requested = self.path.lstrip("/"), self.headers.get("Range")
        self.server.requests.append((self.command, self.path, requested))
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404)
            return
        start = int(requested[len("bytes=") : -1]) if requested and not self.server.ignore_range else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if send_body:
            cut = self.server.cut_after.pop(name, None)
            self.wfile.write(body[start:cut])
            self.close_connection = True


@pytest.fixture()
def release() -> Iterator[FakeRelease]:
    server = FakeRelease()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Bytes of fake official files in their native containers, plus a zip like the InterFaceGAN release asset."""
    folder = tmp_path_factory.mktemp("originals")
    keys = ("ganspace", "hfgi", "interfacegan_age", "interfacegan_pose")
    files = {key: write_fake(OFFICIAL_FILES[key], folder).read_bytes() for key in keys}
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("interfacegan_directions/age.pt", files["interfacegan_age"])
        archive.writestr("interfacegan_directions/pose.pt", files["interfacegan_pose"])
    files["directions.zip"] = bundle.getvalue()
    return files


def _run(dest: Path, sources: dict[str, Source], *extra: str) -> int:
    return main(["--dest", str(dest), "--yes", "--only", *sources, *extra], sources=sources)


def test_missing_files_are_downloaded_and_verified(release: FakeRelease, originals: dict[str, bytes], tmp_path: Path) -> None:
    release.files = {"ffhq_pca.pt": originals["ganspace"], "hfgi.pth": originals["hfgi"]}
    sources = {"ganspace": Source((release.url("ffhq_pca.pt"),)), "hfgi": Source((release.url("hfgi.pth"),))}
    assert _run(tmp_path, sources) == 0
    assert (tmp_path / "ffhq_pca.pt").read_bytes() == originals["ganspace"]
    assert (tmp_path / "hfgi.pth").read_bytes() == originals["hfgi"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ffhq_pca.pt", "hfgi.pth"]


def test_archive_members_are_extracted_and_archive_removed(release: FakeRelease, originals: dict[str, bytes], tmp_path: Path) -> None:
    release.files = {"directions.zip": originals["directions.zip"]}
    sources = {f"interfacegan_{name}": Source((release.url("directions.zip"),), member=f"{name}.pt") for name in ("age", "pose")}
    assert _run(tmp_path, sources) == 0
    assert (tmp_path / "interfacegan_directions/age.pt").read_bytes() == originals["interfacegan_age"]
    assert (tmp_path / "interfacegan_directions/pose.pt").read_bytes() == originals["interfacegan_pose"]
    assert len(release.gets("directions.zip")) == 1
    assert not (tmp_path / "directions.zip").exists()


def test_cut_connection_is_resumed_with_range(release: FakeRelease, originals: dict[str, bytes], tmp_path: Path) -> None:
    body = originals["ganspace"]
    release.files, release.cut_after = {"ffhq_pca.pt": body}, {"ffhq_pca.pt": 40_000}
    sources = {"ganspace": Source((release.url("ffhq_pca.pt"),), size=len(body), sha256=hashlib.sha256(body).hexdigest())}
    assert _run(tmp_path, sources) == 0
    assert release.gets("ffhq_pca.pt") == [None, "bytes=40000-"]
    assert (tmp_path / "ffhq_pca.pt").read_bytes() == body
    assert not (tmp_path / "ffhq_pca.pt.part").exists()


def test_partial_file_from_an_earlier_run_is_continued(release: FakeRelease, originals: dict[str, bytes], tmp_path: Path) -> None:
    body = originals["ganspace"]
    release.files = {"ffhq_pca.pt": body}
    (tmp_path / "ffhq_pca.pt.part").write_bytes(body[:1000])
    assert _run(tmp_path, {"ganspace": Source((release.url("ffhq_pca.pt"),))}) == 0
    assert release.gets("ffhq_pca.pt") == ["bytes=1000-"]
    assert (tmp_path / "ffhq_pca.pt").read_bytes() == body


def test_server_ignoring_range_restarts_cleanly(release: FakeRelease, originals: dict[str, bytes], tmp_path: Path) -> None:
    body = originals["ganspace"]
    release.files, release.ignore_range = {"ffhq_pca.pt": body}, True
    (tmp_path / "ffhq_pca.pt.part").write_bytes(b"stale bytes")
    assert _run(tmp_path, {"ganspace": Source((release.url("ffhq_pca.pt"),))}) == 0
    assert (tmp_path / "ffhq_pca.pt").read_bytes() == body


@pytest.mark.parametrize(
    ("served", "known_size", "message"),
    [
        (b"<html>not a checkpoint</html>", False, "is not the official ffhq_pca.pt"),
        ("truncated", False, "truncated, corrupt or not a checkpoint"),
        ("truncated", True, "bytes, expected"),
    ],
)
def test_corrupted_download_is_rejected(
    release: FakeRelease,
    originals: dict[str, bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    served: bytes | str,
    known_size: bool,
    message: str,
) -> None:
    body = originals["ganspace"]
    release.files = {"ffhq_pca.pt": body[: len(body) // 2] if served == "truncated" else served}
    assert _run(tmp_path, {"ganspace": Source((release.url("ffhq_pca.pt"),), size=len(body) if known_size else None)}) == 1
    err = capsys.readouterr().err
    assert message in err and ".bad" in err
    assert not (tmp_path / "ffhq_pca.pt").exists()
    assert (tmp_path / "ffhq_pca.pt.bad").exists()


def test_present_valid_files_are_skipped(release: FakeRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake(OFFICIAL_FILES["ganspace"], tmp_path)
    assert _run(tmp_path, {"ganspace": Source((release.url("ffhq_pca.pt"),))}) == 0
    assert release.requests == []
    assert "present, verified" in capsys.readouterr().out


def test_offline_prints_manual_fallback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ffhq_pca.pt"
    assert _run(tmp_path, {"ganspace": Source((url,))}) == 1
    err = capsys.readouterr().err
    assert "Fetch them by hand" in err and url in err and str(tmp_path / "ffhq_pca.pt") in err


def test_declined_confirmation_downloads_nothing(
    release: FakeRelease, originals: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release.files = {"ffhq_pca.pt": originals["ganspace"]}
    source = Source((release.url("ffhq_pca.pt"),))
    assert download_missing(tmp_path, sources={"ganspace": source}, ask=lambda _: "n") == 1
    out = capsys.readouterr().out
    assert source.urls[0] in out and human_size(len(originals["ganspace"])) in out and str(tmp_path / "ffhq_pca.pt") in out
    assert release.gets("ffhq_pca.pt") == [] and not (tmp_path / "ffhq_pca.pt").exists()


def test_list_prints_the_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--list", "--dest", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for key, spec in OFFICIAL_FILES.items():
        assert key in out and spec.filename in out
    assert "https://github.com/FeiiYin/StyleHEAT/releases/download/styleheat/StyleGAN_e4e.pth" in out
    assert "https://github.com/OpenTalker/SadTalker/releases/download/v0.0.2-rc/SadTalker_V0.0.2_256.safetensors" in out
