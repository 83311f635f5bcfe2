"""Keep freed CPU memory in the process while a video is rendered, then give it back.

glibc serves every allocation above 32 MiB (a 1024² activation of a chunk is 64-512 MiB) with a
fresh mmap and unmaps it on free, so each chunk faults the same memory in again, page by page:
about 20 % of a frame's time on 2 CPU cores. Inside `reuse_freed_memory()` large blocks come from
the heap and freed ones stay there for the next chunk (mallopt M_MMAP_MAX=0, M_TRIM_THRESHOLD=max).
On leaving, glibc's own adaptive steady state is set (mmap above 32 MiB, trim above 64 MiB: what
its dynamic thresholds reach after the first large free) and the heap is trimmed (malloc_trim), so
the host process (ComfyUI) keeps no extra memory and allocates as before. Nothing happens where
glibc's malloc is not in use or the user tuned it with MALLOC_* environment variables; blocks nest.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Iterator

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
_MIB = 1 << 20
_STEADY_STATE = ((_M_MMAP_THRESHOLD, 32 * _MIB), (_M_TRIM_THRESHOLD, 64 * _MIB), (_M_MMAP_MAX, 65536))
_REUSE = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1))
_lock = threading.Lock()
_depth = 0


def _glibc() -> ctypes.CDLL | None:
    """glibc, when it is this process's allocator and no MALLOC_* tuning was asked for in the environment."""
    if os.name != "posix" or any(name.startswith("MALLOC_") for name in os.environ):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 (attribute lookup: raises AttributeError off glibc)
    except (OSError, AttributeError):
        return None
    return libc


def _apply(libc: ctypes.CDLL, settings: tuple[tuple[int, int], ...]) -> None:
    for option, value in settings:
        libc.mallopt(option, value)


@contextlib.contextmanager
def reuse_freed_memory() -> Iterator[None]:
    """Within the block, freed large CPU blocks are reused instead of unmapped (see the module docstring)."""
    global _depth
    libc = _glibc()
    if libc is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            _apply(libc, _REUSE)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _apply(libc, _STEADY_STATE)
                libc.malloc_trim(0)
