"""Atomic file writes: a file appears under its final name complete or not at all.

Every writer of the pack goes through `atomic_path`: the content is written to a temporary name in
the destination folder, flushed to disk (fsync), then renamed onto the final name with `os.replace`.
A crash or an exception mid-write leaves the previous file (if any) untouched and removes the
temporary file. Temporary names start with '.' and end in '.tmp', so no model list shows them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

TEMPORARY_SUFFIX = ".tmp"


def temporary_name(path: Path, keep_suffix: bool = False) -> Path:
    """A fresh hidden name beside `path`; `keep_suffix` keeps its extension last (writers that choose the format by it)."""
    token = secrets.token_hex(4)
    if keep_suffix:
        return path.with_name(f".{path.stem}.{token}{TEMPORARY_SUFFIX}{path.suffix}")
    return path.with_name(f".{path.name}.{token}{TEMPORARY_SUFFIX}")


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable too (POSIX); folders cannot be opened on Windows, where this is a no-op."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def commit(temporary: Path, path: Path) -> None:
    """Flush a finished temporary file to disk and rename it onto `path` (the download keeps `.part` files this way)."""
    _fsync_file(temporary)
    os.replace(temporary, path)
    _fsync_folder(path.parent)


@contextmanager
def atomic_path(path: str | Path, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; on success it becomes `path`, on error it is removed.

    The parent folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(path, keep_suffix)
    try:
        yield temporary
        if not temporary.is_file():
            raise FileNotFoundError(f"nothing was written for {path} (expected the temporary file {temporary})")
        commit(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """`open(path, mode)` for writing, atomically: the file appears under `path` only when the block succeeds."""
    with atomic_path(path) as temporary, open(temporary, mode, encoding=encoding) as handle:
        yield handle


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_open(path, "w", encoding=encoding) as handle:
        handle.write(text)
