"""Download the official checkpoints missing from the StyleHEAT model folder.

    python -m styleheat_core.download [--dest DIR] [--only KEY ...] [--yes] [--list]
    python -m styleheat_core.download --stand-in DIR [--only KEY ...]

The folder defaults to $STYLEHEAT_MODELS_DIR or ./models/styleheat (ComfyUI: --dest
ComfyUI/models/styleheat). Present files are checked and skipped; missing ones are listed with
their URL, size and destination, fetched after confirmation into `<name>.part` (resumed with HTTP
Range), checked against the known size/sha256 and the file's strict key manifest, then moved into
place. A file that fails the checks is kept as `<name>.bad`, never under its official name.

`--stand-in DIR` downloads nothing: it writes deterministic stand-in weights for every official
file into DIR (styleheat_core/io/stand_in.py), to try every workflow and CLI offline. Faces come
out as noise. Stand-ins found in the download folder are named as such and kept; delete them to
download the official files.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import sys
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from .io.atomic import atomic_open, commit
from .io.checkpoints import CheckpointError, verify_file
from .io.layouts import MODEL_FOLDER, OFFICIAL_FILES, OfficialFile
from .io.sources import SOURCES, Source
from .io.stand_in import is_stand_in, write_stand_ins

CHUNK = 1 << 16
TIMEOUT_S = 30.0
ATTEMPTS = 4
USER_AGENT = "ComfyUI-StyleHEAT-downloader"


class DownloadError(RuntimeError):
    """A file was served but is not the official file (wrong size, hash, archive or content)."""


class FetchError(RuntimeError):
    """A file could not be fetched: network unreachable, connection dropped, or no URL served it."""


@dataclass(frozen=True)
class Job:
    """One missing file: what it is, where it comes from, where it goes."""

    spec: OfficialFile
    source: Source
    target: Path

    @property
    def asset(self) -> Path:
        """Where the downloaded asset lands: the target itself, or the archive beside it."""
        return self.target.parent / self.source.archive_name if self.source.archive_name else self.target


def default_dest() -> Path:
    """$STYLEHEAT_MODELS_DIR, else ./models/styleheat."""
    return Path(os.environ.get("STYLEHEAT_MODELS_DIR", MODEL_FOLDER))


def human_size(size: int | None) -> str:
    """Bytes as a short human-readable string ('unknown' for None)."""
    if size is None:
        return "unknown"
    if size < 1024:
        return f"{size} B"
    exponent = min(3, (size.bit_length() - 1) // 10)
    return f"{size / 1024 ** exponent:.1f} {('KiB', 'MiB', 'GiB')[exponent - 1]}"


class Progress:
    """A plain-text progress bar on one line of `stream`, redrawn at most a few times a second."""

    def __init__(self, label: str, total: int | None, done: int, stream: TextIO) -> None:
        self.label, self.total, self.done, self.stream = label, total, done, stream
        self.start, self.start_done = time.monotonic(), done
        self.drawn = self.start

    def advance(self, count: int) -> None:
        self.done += count
        if time.monotonic() - self.drawn > 0.25:
            self.draw()

    def draw(self) -> None:
        self.drawn = time.monotonic()
        rate = (self.done - self.start_done) / max(self.drawn - self.start, 1e-6)
        if self.total:
            filled = int(30 * self.done / self.total)
            percent = 100 * self.done / self.total
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {percent:5.1f}% {human_size(self.done)}/{human_size(self.total)}"
        else:
            bar = human_size(self.done)
        self.stream.write(f"\r  {self.label}: {bar} {human_size(int(rate))}/s ")
        self.stream.flush()

    def finish(self) -> None:
        self.draw()
        self.stream.write("\n")


def remote_size(url: str, timeout: float) -> int | None:
    """Content-Length from a HEAD request, or None when the server does not say or cannot be reached."""
    try:
        with urlopen(Request(url, method="HEAD", headers={"User-Agent": USER_AGENT}), timeout=timeout) as response:
            length = response.headers.get("Content-Length")
    except (OSError, http.client.HTTPException):
        return None
    return int(length) if length and length.isdigit() else None


def _download_once(url: str, part: Path, timeout: float, stream: TextIO) -> bool:
    """Fetch `url` into `part`, resuming from its current size; True when the body arrived complete."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={have}-"} if have else {})}
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as error:
        if error.code == 416 and have:
            part.unlink()
            return False
        raise
    with response:
        resumed = have > 0 and response.status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {have}-")
        if response.status == 206 and not resumed:
            part.unlink(missing_ok=True)
            return False
        have = have if resumed else 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        progress = Progress(part.name[: -len(".part")], total, have, stream)
        try:
            with part.open("ab" if resumed else "wb") as handle:
                while chunk := response.read(CHUNK):
                    handle.write(chunk)
                    progress.advance(len(chunk))
        except (OSError, http.client.HTTPException):
            return False
        finally:
            progress.finish()
    return total is None or part.stat().st_size == total


def fetch(urls: Sequence[str], asset: Path, timeout: float, stream: TextIO) -> str:
    """Download the first URL that serves the asset into `asset` (via `<asset>.part`); return that URL.

    A dropped connection is resumed up to ATTEMPTS times; an HTTP error moves on to the next URL.
    """
    part = asset.with_name(asset.name + ".part")
    asset.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            for _ in range(ATTEMPTS):
                if _download_once(url, part, timeout, stream):
                    commit(part, asset)
                    return url
            failures.append(f"{url}: the connection kept dropping (partial file kept as {part}; run again to resume)")
        except HTTPError as error:
            failures.append(f"{url}: HTTP {error.code} {error.reason}")
        except (URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            failures.append(f"{url}: {type(reason).__name__}: {reason} (offline?)")
    raise FetchError("; ".join(failures))


def _reject(path: Path, reason: str) -> None:
    """Move a failed file to `<name>.bad` and raise DownloadError explaining why."""
    bad = path.with_name(path.name + ".bad")
    path.replace(bad)
    raise DownloadError(f"{reason}\n  The file was kept as {bad} for inspection; delete it and run again, or fetch it by hand.")


def check_asset(asset: Path, source: Source, url: str) -> None:
    """Check a downloaded asset against the known size and sha256 of `source`."""
    size = asset.stat().st_size
    if source.size is not None and size != source.size:
        _reject(asset, f"{asset.name} from {url} has {size} bytes, expected {source.size}: it is truncated or not the official file.")
    if source.sha256 is not None:
        digest = hashlib.sha256()
        with asset.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != source.sha256:
            _reject(asset, f"{asset.name} from {url} has sha256 {digest.hexdigest()}, expected {source.sha256}: the download is corrupt.")


def extract_member(archive: Path, member: str, target: Path) -> None:
    """Copy the archive entry whose base name is `member` to `target` (atomically)."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            names = [n for n in bundle.namelist() if n.rsplit("/", 1)[-1] == member and not n.startswith("__MACOSX/")]
            if not names:
                held = ", ".join(bundle.namelist()[:8])
                raise DownloadError(f"{archive} holds no {member} (it holds {held}); is it the official archive?")
            with bundle.open(names[0]) as source, atomic_open(target) as handle:
                while chunk := source.read(1 << 20):
                    handle.write(chunk)
    except zipfile.BadZipFile as error:
        _reject(archive, f"{archive} is not a valid zip archive ({error}): the download is truncated or corrupt.")


def install(job: Job, timeout: float, stream: TextIO) -> None:
    """Fetch, check, extract (archives) and verify one missing file; raises FetchError or DownloadError."""
    if not job.asset.is_file():
        url = fetch(job.source.urls, job.asset, timeout, stream)
        check_asset(job.asset, job.source, url)
    if job.source.member:
        extract_member(job.asset, job.source.member, job.target)
    try:
        verify_file(job.target, job.spec)
    except CheckpointError as error:
        _reject(job.target, f"{job.target} was downloaded but is not the official {job.spec.filename}:\n{error}")


def manual_instructions(jobs: Sequence[Job]) -> str:
    """What to download by hand, and where to put it, for files that could not be fetched."""
    lines = ["Could not download these files (offline?). Fetch them by hand:"]
    for job in jobs:
        extract = f" and extract {job.source.member} from it" if job.source.member else ""
        lines.append(f"  {job.spec.filename}: download {' or '.join(job.source.urls)}{extract}, save as {job.target}")
    return "\n".join(lines)


def _plan_line(job: Job, size: int | None) -> str:
    archive = f" (zip; extracts {job.source.member})" if job.source.member else ""
    return f"  {job.spec.filename}\n    from {job.source.urls[0]}{archive}\n    size {human_size(size)} -> {job.target}"


def list_table(dest: Path, sources: Mapping[str, Source], out: TextIO) -> None:
    """Print every official file: key, file, status in `dest`, and its URLs (or where it comes from when none exists)."""
    out.write(f"Official files for {dest}:\n")
    for key, spec in OFFICIAL_FILES.items():
        status = "present" if (dest / spec.filename).is_file() else "missing"
        source = sources.get(key)
        if source is None:
            where = f"no download: {spec.source}"
        else:
            where = " | ".join(source.urls) + (f" (extract {source.member})" if source.member else "")
        out.write(f"  {key:22} {spec.filename:45} {status}\n    {where}\n")


def _select(keys: Sequence[str] | None, sources: Mapping[str, Source]) -> list[str]:
    unknown = [k for k in keys or () if k not in sources]
    if unknown:
        raise SystemExit(f"--only: unknown key(s) {', '.join(unknown)}; choose from {', '.join(sources)} (see --list)")
    return list(keys) if keys else list(sources)


def _pending(keys: Sequence[str], dest: Path, sources: Mapping[str, Source], out: TextIO) -> tuple[list[Job], list[str]]:
    """Jobs for missing files, and errors for present files that fail their checks (left untouched)."""
    jobs, problems = [], []
    for key in keys:
        job = Job(OFFICIAL_FILES[key], sources[key], dest / OFFICIAL_FILES[key].filename)
        if not job.target.is_file():
            jobs.append(job)
            continue
        try:
            verify_file(job.target, job.spec)
        except CheckpointError as error:
            problems.append(f"{job.target} is present but fails its checks; move it away to download it again.\n{error}")
            continue
        if is_stand_in(job.target, dest, job.spec.filename):
            out.write(f"ok       {job.spec.filename} (present: STAND-IN weights, not the official file, faces come out as noise; delete it to download the official file)\n")
        else:
            out.write(f"ok       {job.spec.filename} (present, verified)\n")
    return jobs, problems


def download_missing(
    dest: Path,
    keys: Sequence[str] | None = None,
    sources: Mapping[str, Source] = SOURCES,
    assume_yes: bool = False,
    ask: Callable[[str], str] = input,
    out: TextIO | None = None,
    err: TextIO | None = None,
    timeout: float = TIMEOUT_S,
) -> int:
    """Fetch the selected official files missing from `dest`; 0 when every selected file is now present and valid.

    `out`/`err` default to the current sys.stdout/sys.stderr (progress bars go to `err`).
    """
    out, err = out or sys.stdout, err or sys.stderr
    jobs, problems = _pending(_select(keys, sources), dest, sources, out)
    if jobs:
        sizes = [remote_size(job.source.urls[0], timeout) if job.source.size is None else job.source.size for job in jobs]
        out.write(f"{len(jobs)} file(s) to download into {dest}:\n" + "\n".join(map(_plan_line, jobs, sizes)) + "\n")
        if not assume_yes and not _confirmed(ask):
            out.write("Nothing downloaded.\n")
            return 1
    unreachable = []
    for job in jobs:
        out.write(f"fetching {job.spec.filename}\n")
        try:
            install(job, timeout, err)
            out.write(f"ok       {job.spec.filename} (downloaded, verified)\n")
        except FetchError as error:
            err.write(f"error    {job.spec.filename}: {error}\n")
            unreachable.append(job)
        except DownloadError as error:
            problems.append(str(error))
    for archive in {job.asset for job in jobs if job.source.member and job.asset.is_file()}:
        archive.unlink()
    for problem in problems:
        err.write(f"error    {problem}\n")
    if unreachable:
        err.write(manual_instructions(unreachable) + "\n")
    return 1 if problems or unreachable else 0


def _confirmed(ask: Callable[[str], str]) -> bool:
    try:
        return ask("Download them? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def main(argv: Sequence[str] | None = None, sources: Mapping[str, Source] = SOURCES) -> int:
    """Command-line entry point; `sources` replaces the URL table (tests point it at a local server)."""
    parser = argparse.ArgumentParser(prog="python -m styleheat_core.download", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=None, help="model folder (default: $STYLEHEAT_MODELS_DIR or ./models/styleheat)")
    parser.add_argument("--only", nargs="+", metavar="KEY", help="download only these files (keys as in --list)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--list", action="store_true", help="print the downloadable files and exit")
    parser.add_argument(
        "--stand-in", type=Path, metavar="DIR",
        help="download nothing: write deterministic stand-in weights for every official file into DIR (faces come out as noise)",
    )
    args = parser.parse_args(argv)
    if args.stand_in is not None:
        keys = args.only or list(OFFICIAL_FILES)
        unknown = [k for k in keys if k not in OFFICIAL_FILES]
        if unknown:
            parser.error(f"--only: unknown key(s) {', '.join(unknown)}; choose from {', '.join(OFFICIAL_FILES)}")
        write_stand_ins(args.stand_in, keys, sys.stdout)
        return 0
    dest = args.dest or default_dest()
    if args.list:
        list_table(dest, sources, sys.stdout)
        return 0
    return download_missing(dest, args.only, sources, assume_yes=args.yes)


if __name__ == "__main__":
    sys.exit(main())
