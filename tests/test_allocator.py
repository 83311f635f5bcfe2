"""glibc's allocator policy (styleheat_core/allocator.py): large blocks from the heap inside the scope, memory returned after it.

Each check runs in a fresh interpreter with the threshold pinned first, as the headless renderer runs, so the
test process's own heap history cannot decide the outcome. Where a block comes from is read from glibc's
own counters (`mallinfo2`: bytes in mapped blocks), not from page-fault counts, which depend on how earlier
blocks happened to be split.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from styleheat_core.allocator import glibc

ROOT = Path(__file__).resolve().parents[1]
BLOCK_MIB = 64

pytestmark = pytest.mark.skipif(glibc() is None, reason="the policy is glibc's; this C library has no mallopt")

PROBE = """
import ctypes, json
import torch
from styleheat_core.allocator import freed_memory_reused, glibc, pin_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

glibc().mallinfo2.restype = MallInfo2

def mapped_mib(function):
    # MiB of mapped (not heap) blocks that exist while `function`'s block is alive
    before = glibc().mallinfo2().hblkhd
    held = function()
    mapped = (glibc().mallinfo2().hblkhd - before) / 2**20
    del held
    return mapped

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def block():  # a large block, written through as an activation is
    return torch.empty(BLOCK_MIB * 2**18).fill_(1.0)

pin_mmap_threshold()
result = {"pinned": mapped_mib(block)}
"""


def probe(body: str) -> dict:
    script = f"BLOCK_MIB = {BLOCK_MIB}\n" + PROBE + textwrap.dedent(body) + "\nprint(json.dumps(result))\n"
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_inside_the_scope_large_blocks_come_from_the_heap():
    result = probe(
        """
        with freed_memory_reused() as active:
            result["active"] = active
            result["inside"] = [mapped_mib(block) for _ in range(3)]
        result["after"] = mapped_mib(lambda: torch.empty(4 * BLOCK_MIB * 2**18))
        """
    )
    assert result["active"] is True
    # With the threshold pinned a large block is a mapping of its own (unmapped, and faulted in again, each time) ...
    assert result["pinned"] >= BLOCK_MIB, result
    # ... inside the scope it is heap memory, which stays for the next block ...
    assert result["inside"] == [0, 0, 0], result
    # ... and once the scope is closed, a block larger than anything the heap holds is mapped again.
    assert result["after"] >= 4 * BLOCK_MIB, result


def test_closing_the_scope_returns_the_freed_memory_to_the_system():
    result = probe(
        """
        start = rss_mib()
        with freed_memory_reused():
            block()
            result["held_inside"] = rss_mib() - start
        result["held_after"] = rss_mib() - start
        """
    )
    assert result["held_inside"] >= BLOCK_MIB * 0.9, result
    assert result["held_after"] <= BLOCK_MIB * 0.1, result


def test_an_inner_scope_leaves_the_outer_one_in_force():
    result = probe(
        """
        with freed_memory_reused():
            with freed_memory_reused():
                block()
            result["after_inner"] = mapped_mib(lambda: torch.empty(4 * BLOCK_MIB * 2**18))
        result["after_outer"] = mapped_mib(lambda: torch.empty(8 * BLOCK_MIB * 2**18))
        """
    )
    assert result["after_inner"] == 0, result
    assert result["after_outer"] >= 8 * BLOCK_MIB, result
