"""glibc's allocator policy (styleheat_core/allocator.py): freed blocks reused inside the scope, returned after it.

Each check runs in a fresh interpreter, as the headless renderer does (threshold pinned first), so the test
process's own heap history cannot decide the outcome.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from styleheat_core.allocator import _glibc

ROOT = Path(__file__).resolve().parents[1]
BLOCK_MIB = 64
ROUNDS = 16  # glibc settles within about 8: small allocations split the first freed blocks
PAGES = BLOCK_MIB * 2**20 // 4096

pytestmark = pytest.mark.skipif(_glibc() is None, reason="the policy is glibc's; this C library has no mallopt")

PROBE = """
import json, resource
import torch
from styleheat_core.allocator import freed_memory_reused, pin_mmap_threshold

def faults(function):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    function()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def block():  # a freshly allocated block, written through (as an activation is)
    torch.empty(BLOCK_MIB * 2**18).fill_(1.0)

def rounds(count=ROUNDS):  # faults of each of `count` blocks allocated and freed in turn, as a render's frames do
    return [faults(block) for _ in range(count)]

pin_mmap_threshold()
result = {"pinned": rounds(4)}
"""


def probe(body: str) -> dict:
    script = f"BLOCK_MIB, ROUNDS = {BLOCK_MIB}, {ROUNDS}\n" + PROBE + textwrap.dedent(body) + "\nprint(json.dumps(result))\n"
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def settled(counts: list[int]) -> bool:
    """Whether the last blocks of a run reused freed memory (almost no page faults)."""
    return all(count < PAGES * 0.05 for count in counts[-3:])


def test_inside_the_scope_freed_blocks_are_reused_without_page_faults():
    result = probe(
        """
        with freed_memory_reused() as active:
            result["active"] = active
            result["reused"] = rounds()
        result["after"] = rounds(4)
        """
    )
    assert result["active"] is True
    # With the threshold pinned every block is a fresh mapping, faulted in page by page ...
    assert all(count >= PAGES * 0.9 for count in result["pinned"]), result
    # ... inside the scope the heap grows for a few blocks, then serves every block from freed memory ...
    assert settled(result["reused"]), result
    assert sum(result["reused"]) <= PAGES * ROUNDS / 2, result
    # ... and once it is closed, large blocks are mapped afresh again.
    assert all(count >= PAGES * 0.9 for count in result["after"]), result


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
            result["after_inner"] = rounds()
        result["after_outer"] = rounds(4)
        """
    )
    assert settled(result["after_inner"]), result
    assert all(count >= PAGES * 0.9 for count in result["after_outer"]), result
