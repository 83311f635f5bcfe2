"""Checkpoint files that a safe loader must refuse: pickles that would run code, empty and truncated files."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch


class CreatesMarker:
    """Unpickling this object calls open(marker, 'w'): a loader that unpickles it leaves the marker file behind."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def code_running_pickle(path: Path, marker: Path, tensors: dict | None = None) -> Path:
    """A torch.save file (or a pickled .npy/.npz) whose loading with full unpickling would create `marker`."""
    payload = {**(tensors or {"weight": torch.zeros(2)}), "payload": CreatesMarker(marker)}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        np.save(path, np.array(payload, dtype=object), allow_pickle=True)
    elif path.suffix == ".npz":
        np.savez(path, payload=np.array([CreatesMarker(marker)], dtype=object), weight=np.zeros(2))
    else:
        torch.save(payload, path)
    return path


def harmless_pickle(container: dict) -> dict:
    """`container` plus a Python object that weights_only refuses but that does nothing when unpickled."""
    return {**container, "settings": Fraction(1, 3)}


def truncated_copy(data: bytes, path: Path, keep: float = 0.5) -> Path:
    """The first `keep` of `data` written to `path` (a cut-off download)."""
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def saved_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()
