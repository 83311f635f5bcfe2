"""Model handles: how lazy pipeline values refer to networks without owning their placement.

A lazy value (a source latent, a motion, warped features) records which networks it will need and
reaches them through a handle only when it computes. Inside ComfyUI the handle is the node pack's
`ManagedModel` (ComfyUI decides where its weights live and loads every network a node needs in one
call); elsewhere (the CLI, tests, training) it is a `LocalModel`, which simply holds the module.
Each network is called with its inputs cast to its own device and dtype (`module_input`), so
loaders may choose different precisions for different networks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Iterable, Protocol, TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module, covariant=True)


class ModelHandle(Protocol[M]):
    """A network whose device placement is managed by whoever created the handle."""

    @property
    def module(self) -> M: ...


@dataclass(frozen=True, eq=False)
class LocalModel(Generic[M]):
    """A handle that holds its module directly and never moves it."""

    module: M


def unique_handles(handles: Iterable[ModelHandle]) -> list[ModelHandle]:
    """The handles in order, each once (several lazy values may need the same network)."""
    seen: dict[int, ModelHandle] = {}
    for handle in handles:
        seen.setdefault(id(handle), handle)
    return list(seen.values())


def placement(module: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of a network's weights."""
    weight = next(module.parameters())
    return weight.device, weight.dtype


def module_input(module: nn.Module, tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` on the network's device and in its dtype: the cast at every module boundary."""
    device, dtype = placement(module)
    return tensor.to(device=device, dtype=dtype)
