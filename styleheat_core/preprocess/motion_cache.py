"""A per-video cache of extracted coefficients: safetensors files named by a hash of everything that decides them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ..io.atomic import atomic_path

CACHE_VERSION = "1"


def model_fingerprint(net: nn.Module) -> str:
    """BLAKE2 hash of a network's state dict (names, shapes, dtypes and values): identifies the checkpoint."""
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in net.state_dict().items():
        value = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{tuple(tensor.shape)}:{value.dtype}".encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def array_digest(frames: np.ndarray) -> str:
    """SHA-256 of an in-memory video (shape, dtype and bytes)."""
    digest = hashlib.sha256(f"{frames.shape}:{frames.dtype}".encode())
    digest.update(np.ascontiguousarray(frames).tobytes())
    return digest.hexdigest()


def cache_key(content: str, settings: dict, model_id: str, lm3d_5: np.ndarray) -> str:
    """Hex key from the video content hash, the extraction settings, the model and the standard landmarks."""
    digest = hashlib.sha256()
    for part in (CACHE_VERSION, content, json.dumps(settings, sort_keys=True), model_id):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(np.asarray(lm3d_5, dtype=np.float64).tobytes())
    return digest.hexdigest()[:32]


def save_entry(path: Path, tensors: dict[str, torch.Tensor], settings: dict) -> None:
    """Write atomically (temporary file, then rename), with the settings as readable metadata."""
    with atomic_path(path) as temporary:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(temporary), metadata={"settings": json.dumps(settings, sort_keys=True)})


def load_entry(path: Path) -> dict[str, torch.Tensor] | None:
    """A stored entry, or None when it is missing or unreadable (then it is re-extracted)."""
    if not path.is_file():
        return None
    try:
        return load_file(str(path))
    except (OSError, SafetensorError):
        return None
