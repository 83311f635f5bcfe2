"""What is on disk under a folder (path -> mtime and size), to prove that a run wrote nothing there."""

from __future__ import annotations

import os
from pathlib import Path

# Python's own bytecode caches and tool caches, and the environment made by scripts/setup.sh, are not the pack's writes.
IGNORED = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".git", ".venv"})


def tree_state(root: Path, ignored: frozenset[str] = IGNORED) -> dict[str, tuple[int, int]]:
    """{relative path: (mtime_ns, size)} of every file and link under `root`, without following links."""
    state = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in ignored]
        for name in files + [d for d in subfolders if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            state[os.path.relpath(path, root)] = (info.st_mtime_ns, info.st_size)
    return state


def changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """'created X', 'changed X', 'deleted X' lines between two tree states."""
    return sorted(
        [f"created {p}" for p in after.keys() - before.keys()]
        + [f"deleted {p}" for p in before.keys() - after.keys()]
        + [f"changed {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    )
