"""CUDA graphs for the chunk step: capture once per input shape, then replay.

At batch 1 a 1024² frame on a GPU is bound by kernel launches, not arithmetic (benchmarks/RESULTS.md:
26.5 ms per frame on an H100, of which the warper and calibrator take 7 ms each for very little work).
A CUDA graph records the kernels of one call and launches them all again with one call.

`GraphedStep.on(device, fn)` wraps a function of tensors (`fn(*inputs) -> tensor`) whose computation
depends on nothing else that changes. The first call with a set of input shapes runs eagerly (a
chunk size that occurs once, such as the last chunk, is never captured); the second captures it:
a warm-up on a side stream, the capture, one replay, which must equal the eager result within
`GRAPH_TOLERANCE` (the same call run eagerly after the capture). From then on a call copies its inputs into the graph's own input tensors and
replays. A capture that fails or disagrees leaves the step eager (logged, with the reason), so
the frames are always the eager path's. On other devices the step is `fn` itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import torch

logger = logging.getLogger("styleheat")

# Largest |graph replay - eager| accepted on raw network values ([-1, 1]); the same kernels run in both.
GRAPH_TOLERANCE = 1e-4
# Eager calls on a side stream before a capture (cuDNN and cuBLAS set themselves up on first use).
WARMUP_CALLS = 2

Signature = tuple[tuple[tuple[int, ...], torch.dtype], ...]


def signature(inputs: tuple[torch.Tensor, ...]) -> Signature:
    """Shapes and dtypes of a call's inputs: what a captured graph is fixed to."""
    return tuple((tuple(t.shape), t.dtype) for t in inputs)


@dataclass
class CapturedCall:
    """A graph and the tensors it reads its inputs from and writes its output to."""

    graph: torch.cuda.CUDAGraph
    inputs: tuple[torch.Tensor, ...]
    output: torch.Tensor


@dataclass
class GraphedStep:
    """`fn(*inputs)`, replayed from a CUDA graph per input signature, its graph inputs on `device`
    (`eager_reason` set: `fn` itself, for that reason)."""

    fn: Callable[..., torch.Tensor]
    device: torch.device
    tolerance: float = GRAPH_TOLERANCE
    eager_reason: str | None = None
    _seen: set[Signature] = field(default_factory=set, init=False)
    _captured: dict[Signature, CapturedCall] = field(default_factory=dict, init=False)

    @classmethod
    def on(cls, device: torch.device | None, fn: Callable[..., torch.Tensor]) -> "GraphedStep":
        """`fn` graphed on a CUDA `device`; on any other device, or None (graphs not asked for), `fn` eagerly."""
        if device is None or device.type != "cuda":
            return cls(fn, torch.device("cpu"), eager_reason=f"CUDA graphs need a CUDA device, not {device}" if device else "not asked for")
        return cls(fn, device)

    @property
    def captures(self) -> int:
        """How many input signatures replay from a graph."""
        return len(self._captured)

    @property
    def status(self) -> str:
        """Whether calls replay graphs, and if not, why."""
        return f"eager: {self.eager_reason}" if self.eager_reason is not None else f"{self.captures} CUDA graph(s) captured"

    @torch.no_grad()
    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.eager_reason is not None:
            return self.fn(*inputs)
        key = signature(inputs)
        call = self._captured.get(key)
        if call is not None:
            return self._replay(call, inputs)
        if key not in self._seen:
            self._seen.add(key)
            return self.fn(*inputs)
        return self._capture(key, inputs)

    def _replay(self, call: CapturedCall, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        for static, value in zip(call.inputs, inputs):
            static.copy_(value)
        call.graph.replay()
        return call.output.clone()

    def _capture(self, key: Signature, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        static = tuple(t.to(self.device, copy=True) for t in inputs)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):  # results dropped: their memory stays with the side stream
            for _ in range(WARMUP_CALLS):
                self.fn(*static)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                output = self.fn(*static)
        except RuntimeError as error:
            return self._stay_eager(f"the capture failed ({error})", self.fn(*inputs))
        expected = self.fn(*static)
        graph.replay()
        difference = (output.float() - expected.float()).abs().max().item()
        if not difference <= self.tolerance:
            return self._stay_eager(f"the replay differs from the eager result by {difference:.3g} (> {self.tolerance:g})", expected)
        self._captured[key] = CapturedCall(graph, static, output)
        logger.info("CUDA graph captured for inputs %s", key)
        return output.clone()

    def _stay_eager(self, reason: str, result: torch.Tensor) -> torch.Tensor:
        self.eager_reason = reason
        self._captured.clear()
        logger.warning("CUDA graphs off for this render: %s; frames are rendered eagerly", reason)
        return result
