"""On-disk training data: one safetensors shard per video plus a JSON manifest.

Why this format: safetensors is already a dependency, holds no pickle, and is memory-mapped, so a
training process reads one frame by slicing the shard (`get_slice`) without loading the video. Frames
are stored as JPEG bytes (quality 95, as LMDB face datasets usually do) in one flat uint8 tensor with
an offsets tensor; per-video arrays (73-d semantics, landmarks, mel spectrogram) are plain tensors.
One file per video makes preparation resumable (a shard is renamed into place only when complete)
and lets any number of readers share the folder; the manifest records the split and every failure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..io.atomic import atomic_path, atomic_write_text

MANIFEST = "manifest.json"
SHARD_DIR = "shards"
FORMAT = "styleheat-train-shards/1"
JPEG_QUALITY = 95


@dataclass
class VideoRecord:
    """One source video: identity (its first folder), split, status ('ok' or 'failed'), and the shard or the failure reason."""

    source: str
    identity: str
    split: str
    status: str
    frames: int = 0
    shard: str | None = None
    reason: str | None = None


@dataclass
class Manifest:
    """The dataset folder's index: preparation settings and a record per video id."""

    settings: dict
    videos: dict[str, VideoRecord] = field(default_factory=dict)

    def save(self, root: str | Path) -> None:
        """Write atomically (a crash never leaves a half-written manifest)."""
        data = {"format": FORMAT, "settings": self.settings, "videos": {k: asdict(v) for k, v in sorted(self.videos.items())}}
        atomic_write_text(Path(root) / MANIFEST, json.dumps(data, indent=1))

    @classmethod
    def load(cls, root: str | Path) -> "Manifest":
        path = Path(root) / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"no {MANIFEST} in {root}: prepare the dataset first (python -m styleheat_core.train prepare)")
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} manifest (format {data.get('format')!r})")
        return cls(data["settings"], {k: VideoRecord(**v) for k, v in data["videos"].items()})

    def ready(self, split: str) -> dict[str, VideoRecord]:
        """The successfully prepared videos of a split."""
        return {k: v for k, v in self.videos.items() if v.status == "ok" and v.split == split}


def encode_images(images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,H,W,3) uint8 RGB -> concatenated JPEG bytes (uint8) and their (N+1,) int64 offsets."""
    chunks = []
    for image in images:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise ValueError("JPEG encoding failed")
        chunks.append(data.reshape(-1))
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
    return torch.from_numpy(np.concatenate(chunks)), torch.from_numpy(offsets)


def write_shard(path: Path, images: dict[str, np.ndarray], arrays: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Write a complete shard at `path` (via a temporary name, renamed when done)."""
    tensors = dict(arrays)
    for name, stack in images.items():
        tensors[f"{name}_jpeg"], tensors[f"{name}_offsets"] = encode_images(stack)
    with atomic_path(path) as temporary:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(temporary), metadata=metadata)


class ShardReader:
    """Random access to one shard: decoded frames by index, whole per-video arrays (cached)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._file = safe_open(self.path, framework="pt")
        self.metadata = self._file.metadata() or {}
        self._arrays: dict[str, torch.Tensor] = {}

    def array(self, name: str) -> torch.Tensor:
        if name not in self._arrays:
            if name not in self._file.keys():
                raise KeyError(f"shard {self.path} has no '{name}' (prepared without it?)")
            self._arrays[name] = self._file.get_tensor(name)
        return self._arrays[name]

    def has(self, name: str) -> bool:
        return name in self._file.keys() or f"{name}_jpeg" in self._file.keys()

    def image(self, name: str, index: int) -> np.ndarray:
        """Frame `index` of the image stack `name` as HxWx3 uint8 RGB."""
        offsets = self.array(f"{name}_offsets")
        start, stop = int(offsets[index]), int(offsets[index + 1])
        data = self._file.get_slice(f"{name}_jpeg")[start:stop].numpy()
        return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@lru_cache(maxsize=64)
def open_shard(path: str) -> ShardReader:
    """A per-process cached reader (shards are memory-mapped, so many can stay open)."""
    return ShardReader(path)
