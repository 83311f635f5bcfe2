"""CUDA graph semantics on the CPU, to test code that captures and replays graphs on a machine without a GPU.

`install(monkeypatch)` replaces `torch.cuda.CUDAGraph`, `torch.cuda.graph` and the stream calls a
capture uses. The emulated capture records every tensor operation the block runs, with the very
tensors it read and wrote; `replay()` runs the same operations again and writes their results into
the tensors recorded at capture. So, as with a real graph, a replay sees new values only where they
were written into the tensors the capture read, and everything the block decided on the host (shapes,
Python numbers) is fixed at capture. Reading a tensor's value on the host during a capture raises,
as a real capture does.

`HostAccessCheck` is the other half of that rule for the GPU code path: run on the meta device (no
data, the branches a CUDA device takes), it fails at any operation that reads a value back to the
host or moves a host tensor to the device, both of which a CUDA graph cannot hold. One such copy
escapes it: `torch.tensor(data, device=...)` builds its tensor below the dispatch modes, so no mode
sees it; the per-frame networks create tensors on the device only (`torch.arange(..., device=...)`).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

aten = torch.ops.aten

# Operations whose result is read on the host: not permitted while a stream is capturing.
HOST_READS = {aten._local_scalar_dense, aten.equal, aten.is_nonzero, aten.nonzero, aten.unique_dim, aten._unique2, aten.masked_select}


class CaptureError(RuntimeError):
    """What a CUDA capture raises at a host read."""


def _host_read(func: Any) -> bool:
    return func.overloadpacket in HOST_READS


class _Recorder(TorchDispatchMode):
    def __init__(self, tape: list):
        super().__init__()
        self.tape = tape

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _host_read(func):
            raise CaptureError(f"operation not permitted when stream is capturing: {func}")
        out = func(*args, **kwargs)
        self.tape.append((func, args, kwargs, out))
        return out


class EmulatedGraph:
    """A recorded sequence of operations on fixed tensors (torch.cuda.CUDAGraph's part that tests need)."""

    def __init__(self):
        self.tape: list = []
        self.replays = 0

    def replay(self) -> None:
        for func, args, kwargs, recorded in self.tape:
            result = func(*args, **kwargs)
            for target, value in zip(tree_leaves(recorded), tree_leaves(result)):
                if isinstance(target, torch.Tensor) and not _same_memory(target, value):
                    target.copy_(value)
        self.replays += 1


def _same_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.data_ptr() == b.data_ptr() and a.stride() == b.stride() and a.shape == b.shape


@contextlib.contextmanager
def _capture(graph: EmulatedGraph, **_: Any) -> Iterator[None]:
    with _Recorder(graph.tape):
        yield


class _Stream:
    def __init__(self, device: Any = None):
        self.device = device

    def wait_stream(self, other: "_Stream") -> None:
        return None


def install(monkeypatch) -> None:
    """Emulated CUDA graphs and streams in torch.cuda for the test that asks for them."""
    monkeypatch.setattr(torch.cuda, "CUDAGraph", EmulatedGraph)
    monkeypatch.setattr(torch.cuda, "graph", _capture)
    monkeypatch.setattr(torch.cuda, "Stream", _Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _Stream(device))
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())


class HostAccessCheck(TorchDispatchMode):
    """Fails at a host read, or at a copy between the host and another device, while active."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _host_read(func):
            raise CaptureError(f"{func} reads a tensor's value on the host")
        if func.overloadpacket is aten._to_copy:
            source, target = args[0].device, torch.device(kwargs.get("device") or args[0].device)
        elif func.overloadpacket is aten.copy_:
            source, target = args[1].device, args[0].device
        else:
            return func(*args, **kwargs)
        if (source.type == "cpu") != (target.type == "cpu"):
            raise CaptureError(f"{func} copies a tensor from {source} to {target}")
        return func(*args, **kwargs)
