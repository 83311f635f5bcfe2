"""reuse_freed_memory keeps freed large blocks in the process inside the block and gives them back after it."""

from __future__ import annotations

import contextlib
import os
import sys

import pytest
import torch

from styleheat_core.pipeline import decode
from styleheat_core.pipeline.heap import reuse_freed_memory

MIB = 1 << 20
BLOCK = 256 * MIB

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc and /proc are Linux-only")


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _touch_and_free() -> int:
    """Allocate and touch BLOCK bytes, free them, return the resident size just after the free."""
    block = torch.ones(BLOCK // 4)
    del block
    return _rss()


def test_freed_blocks_stay_inside_and_are_returned_after():
    before = _rss()
    with reuse_freed_memory():
        with reuse_freed_memory():  # nested blocks: only the outermost one restores
            inside = _touch_and_free()
        still_inside = _touch_and_free()
    after = _rss()
    assert inside - before > BLOCK // 2  # kept for reuse instead of unmapped
    assert still_inside - before > BLOCK // 2
    assert after - before < BLOCK // 4  # trimmed on leaving
    assert _touch_and_free() - before < BLOCK // 4  # and large blocks are unmapped on free again


def test_user_tuning_of_malloc_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    before = _rss()
    with reuse_freed_memory():
        inside = _touch_and_free()
    assert inside - before < BLOCK // 4


def test_decode_video_runs_inside_the_scope_and_leaves_it(monkeypatch):
    scope: list[str] = []

    @contextlib.contextmanager
    def recording():
        scope.append("in")
        yield
        scope.append("out")

    class ThreeFrames:
        num_frames = 3

        def frames(self, generator, indices):
            assert scope == ["in"], "frames decoded outside reuse_freed_memory"
            return torch.zeros(len(indices), 3, 8, 8)

    monkeypatch.setattr(decode, "reuse_freed_memory", recording)
    video = decode.decode_video(None, ThreeFrames(), 256, 2)
    assert video.shape == (3, 256, 256, 3)
    assert scope == ["in", "out"]
