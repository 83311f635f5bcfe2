"""Splitting one render over processes (torchrun): contiguous frame ranges, segment files, one join.

Every process renders its own contiguous frames into its own segment (a video-only file that starts
on a keyframe); the first process joins the segments without re-encoding and muxes the sound. The
process group (gloo) only coordinates: the motion computed by the first process is broadcast, and
a barrier waits for every segment. Segments live beside the output, so across machines the output
folder must be on storage every machine shares.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job: rank and world size (1 without torchrun)."""

    rank: int = 0
    world: int = 1

    @classmethod
    def from_environment(cls) -> "Ranks":
        """Join the torchrun process group when WORLD_SIZE > 1 (gloo: coordination only, on any device)."""
        world = int(os.environ.get("WORLD_SIZE", 1))
        if world == 1:
            return cls()
        if not dist.is_initialized():
            dist.init_process_group("gloo")
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def first(self) -> bool:
        return self.rank == 0

    def share(self, frames: int) -> range:
        """This rank's contiguous part of `frames` frames (the parts differ in size by at most one frame)."""
        return range(self.rank * frames // self.world, (self.rank + 1) * frames // self.world)

    def broadcast(self, tensor: torch.Tensor | None) -> torch.Tensor:
        """The first rank's float32 tensor (N, D) on every rank (other ranks pass None)."""
        if self.world == 1:
            return tensor
        shape = torch.tensor(list(tensor.shape) if self.first else [0, 0], dtype=torch.int64)
        dist.broadcast(shape, 0)
        data = tensor.float().contiguous().cpu() if self.first else torch.empty(tuple(shape.tolist()), dtype=torch.float32)
        dist.broadcast(data, 0)
        return data

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def segment_folder(out: Path) -> Path:
    """Where the processes write their segments (beside the output)."""
    return out.with_name(f"{out.stem}.segments")


def segment_path(out: Path, rank: int) -> Path:
    return segment_folder(out) / f"part-{rank:05d}.mp4"


def clear_segments(out: Path) -> None:
    shutil.rmtree(segment_folder(out), ignore_errors=True)
