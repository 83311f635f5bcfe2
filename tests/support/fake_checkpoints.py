"""Fake official checkpoint files: randomly initialised networks saved in the official container structure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from styleheat_core.io.layouts import Layout, ModuleEntry, OfficialFile, TensorEntry
from styleheat_core.io.stand_in import write_official_file


def fake_container(layout: Layout, seed: int = 0) -> Any:
    """Nested dicts of tensors shaped like the official file (module entries from freshly built networks)."""
    torch.manual_seed(seed)
    if isinstance(layout, ModuleEntry):
        return {layout.prefix + k: v.clone() for k, v in layout.build().state_dict().items()}
    if isinstance(layout, TensorEntry):
        return torch.randn([80 if s == -1 else s for s in layout.shapes[0]])
    if isinstance(layout, list):
        merged: dict = {}
        for entry in layout:
            merged.update(fake_container(entry, seed))
        return merged
    return {key: fake_container(sub, seed) for key, sub in layout.items()}


def write_fake(spec: OfficialFile, folder: Path, container: Any | None = None, dtype: torch.dtype | None = None) -> Path:
    """Write `container` (default: a fresh fake) where the official file lives under `folder`, in its native format."""
    container = fake_container(spec.layout) if container is None else container
    if dtype is not None:
        container = _cast(container, dtype)
    return write_official_file(spec, folder, container)


def _cast(node: Any, dtype: torch.dtype) -> Any:
    if isinstance(node, torch.Tensor):
        return node.to(dtype) if node.is_floating_point() else node
    return {k: _cast(v, dtype) for k, v in node.items()}
