"""Source/driving frame pairs streamed from the prepared shards, with a step-indexed sampler.

Sample `i` is a pure function of (seed, i): an identity, one of its videos, two frames (as the
official VoxDataset/VideoDataset pick them) and, for stage 1, the mirror flag. The sampler gives step
`s`, micro-batch `m`, rank `r` the indices [s*G + m*W*b + r*b, +b) with G = accumulation*W*b, so a
resumed run sees exactly the batches it would have seen, and W processes with batch b see the same
samples as one process with batch W*b.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..audio.frames import STYLEHEAT_WINDOW, MelFrames
from ..preprocess.semantics import semantic_windows
from .shards import Manifest, open_shard


@dataclass(frozen=True)
class PairOptions:
    """image_size: side the crops are resized to (256 stage 1 and audio, 512 stage 2); aligned/mel: also read those;
    mirror_probability: stage 1's mirrored-source pairs (the official trainer's augmentation)."""

    image_size: int = 256
    aligned: bool = False
    mel: bool = False
    mirror_probability: float = 0.0
    seed: int = 0


def to_tensor(image: np.ndarray, size: int) -> torch.Tensor:
    """HxWx3 uint8 -> (3, size, size) float in [-1, 1] (area-resized when smaller)."""
    if image.shape[0] != size:
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if size < image.shape[0] else cv2.INTER_CUBIC)
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 127.5 - 1


class PairDataset(Dataset):
    """Index -> {source_image, target_image, source_semantics, target_semantics (73x27), ...} of one split."""

    def __init__(self, root: str | Path, split: str, options: PairOptions = PairOptions()):
        self.root, self.options = Path(root), options
        manifest = Manifest.load(self.root)
        videos = manifest.ready(split)
        if not videos:
            raise ValueError(f"{root} has no prepared '{split}' videos (see its manifest for failures)")
        if options.aligned and not manifest.settings["aligned"]:
            raise ValueError(f"{root} was prepared without FFHQ-aligned copies; prepare it with --size 512 for stage 2")
        self.crop_size = int(manifest.settings["size"])
        by_identity: dict[str, list[str]] = defaultdict(list)
        for video_id, record in sorted(videos.items()):
            by_identity[record.identity].append(video_id)
        self.identities = sorted(by_identity)
        self.videos_of = dict(by_identity)
        self.records = videos
        if options.mel:
            self.videos_of = {k: [v for v in vs if open_shard(self._path(v)).has("mel")] for k, vs in self.videos_of.items()}
            self.identities = [k for k in self.identities if self.videos_of[k]]
            if not self.identities:
                raise ValueError(f"no '{split}' video in {root} has a soundtrack; the audio stage needs videos with audio")

    def _path(self, video_id: str) -> str:
        return str(self.root / self.records[video_id].shard)

    def __len__(self) -> int:
        """Frames in the split (one 'epoch'); indices beyond it are valid too."""
        return sum(r.frames for r in self.records.values())

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.options.seed, int(index)))
        identity = self.identities[rng.integers(len(self.identities))]
        videos = self.videos_of[identity]
        video_id = videos[rng.integers(len(videos))]
        shard = open_shard(self._path(video_id))
        count = self.records[video_id].frames
        source, target = (int(f) for f in rng.integers(0, count, 2))
        semantics = shard.array("semantics")
        windows = semantic_windows(semantics, [source, target])
        scale = self.options.image_size / self.crop_size
        landmarks = shard.array("landmarks")
        item = {
            "source_image": to_tensor(shard.image("frames", source), self.options.image_size),
            "target_image": to_tensor(shard.image("frames", target), self.options.image_size),
            "source_semantics": windows[0],
            "target_semantics": windows[1],
            "source_landmarks": landmarks[source] * scale,
            "target_landmarks": landmarks[target] * scale,
            "mirror": torch.tensor(rng.random() < self.options.mirror_probability),
        }
        if self.options.aligned:
            item["source_align"] = to_tensor(shard.image("aligned", source), self.options.image_size)
            item["target_align"] = to_tensor(shard.image("aligned", target), self.options.image_size)
        if self.options.mel:
            mel = MelFrames(shard.array("mel").numpy(), count, float(shard.metadata["fps"]))
            item["target_mel"] = mel.windows(STYLEHEAT_WINDOW, target, target + 1)[0]
        return item


class StepBatches(Sampler[list[int]]):
    """Endless micro-batches of sample indices from `start_step` on (see the module docstring)."""

    def __init__(self, batch_size: int, accumulation: int = 1, world_size: int = 1, rank: int = 0, start_step: int = 0):
        self.batch, self.accumulation, self.world, self.rank, self.start = batch_size, accumulation, world_size, rank, start_step

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start
        per_micro = self.world * self.batch
        while True:
            for micro in range(self.accumulation):
                first = (step * self.accumulation + micro) * per_micro + self.rank * self.batch
                yield list(range(first, first + self.batch))
            step += 1
