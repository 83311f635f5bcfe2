"""glibc's allocator policy for repeated work: what a loop's steps free is reused, and returned when the loop ends.

Unless its heap holds a free chunk that fits, glibc serves a large block (above 32 MiB always) from a fresh
mapping and unmaps it when freed, so each 1024² activation that a frame allocates again is faulted in again,
one 4 KiB page at a time, zeroed by the kernel.
On a 2-core virtual machine that cost a third to a half of a frame (benchmarks/RESULTS.md, "Page faults").
The chunks of a render and the batches of a 3DMM extraction allocate the same blocks over and over, so
they run inside `freed_memory_reused`. Without glibc both functions do nothing.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters (malloc.h) and the values the renderer uses.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4
PINNED_MMAP_THRESHOLD = 128 * 1024  # glibc's default, before it adapts
DEFAULT_MMAP_MAX = 65536  # glibc's default number of mapped blocks
DEFAULT_TRIM_THRESHOLD = 128 * 1024  # glibc's default
NEVER_TRIM = 2**31 - 1

_lock = threading.Lock()
_open_scopes = 0  # the setting is process-wide: set by the first scope to open, reset by the last to close


@functools.cache
def glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has mallopt and malloc_trim), else None."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def pin_mmap_threshold() -> bool:
    """Serve allocations above 128 KiB from their own mappings, returned to the system when freed.

    glibc otherwise raises that threshold after the first large free and keeps freed blocks in its heaps,
    so what the setup (3DMM, inversion) used stays resident. The headless renderer owns its process and
    pins the threshold at start. Returns False without glibc.
    """
    libc = glibc()
    return libc is not None and bool(libc.mallopt(M_MMAP_THRESHOLD, PINNED_MMAP_THRESHOLD))


def keep_freed_memory() -> bool:
    """From now on serve every block from the heap and never trim it, so freed memory is reused (and the
    process keeps its peak memory until `freed_memory_reused` closes, if one is open). Returns False without glibc."""
    libc = glibc()
    return libc is not None and bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))


@contextmanager
def freed_memory_reused() -> Iterator[bool]:
    """Inside: every block comes from the heap and freed memory stays there for the next step (no mapping, no
    trimming). When the last open scope closes: mapping and trimming are back at glibc's defaults and the
    heap's free memory is returned to the system. The setting is process-wide while it lasts: the other
    threads of a ComfyUI process meanwhile allocate from the heap too. Yields whether it is in force.
    """
    global _open_scopes
    libc = glibc()
    if libc is None:
        yield False
        return
    with _lock:
        _open_scopes += 1
        if _open_scopes == 1:
            keep_freed_memory()
    try:
        yield True
    finally:
        with _lock:
            _open_scopes -= 1
            if _open_scopes == 0:
                libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                libc.malloc_trim(0)
