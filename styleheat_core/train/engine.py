"""The training loop shared by every stage: DDP under torchrun, gradient accumulation, bf16 autocast, EMA,
official-container checkpoints with exact resume, loss logging and sample grids.

A stage supplies the trainable module (`model`, its state dict is what `net_G_ema` holds), a loss that
calls that module through the (possibly DDP-wrapped) handle it is given, and the sample-grid columns.
"""

from __future__ import annotations

import copy
import json
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from ..io.atomic import atomic_path, atomic_write_text
from ..models.ops import resize
from .checkpoint import load_checkpoint, resolve_resume, save_checkpoint
from .data import StepBatches

# The official trainers' EMA decay: 0.5 ** (32 / (10 * 1000)).
OFFICIAL_EMA_DECAY = 0.5 ** (32 / 10_000)
SAMPLE_ROWS = 6


@dataclass(frozen=True)
class TrainConfig:
    """Run settings; optimiser defaults are the official configs' (Adam 1e-4, betas (0.5, 0.999), x0.2 every 300k)."""

    out_dir: str
    steps: int
    batch_size: int = 16
    accumulation: int = 1
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_step: int = 300_000
    lr_gamma: float = 0.2
    ema_decay: float = OFFICIAL_EMA_DECAY
    bf16: bool = False
    log_every: int = 50
    sample_every: int = 1000
    save_every: int = 5000
    workers: int = 2
    device: str | None = None


class Stage(Protocol):
    """What the loop trains."""

    name: str
    model: nn.Module

    def to(self, device: torch.device) -> None:
        """Move the trainable and the frozen networks."""

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor], step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor | float]]:
        """Total loss and its weighted terms (tensors or floats); `model` is `self.model` or its DDP wrapper (call it, not `self.model`)."""

    def samples(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Columns (B,3,H,W) in [-1, 1] of a sample grid, computed with `model` (the EMA copy)."""


@dataclass(frozen=True)
class Process:
    """This process's place in the run."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_process(device: str | None = None) -> Process:
    """Join torchrun's process group when WORLD_SIZE > 1 (NCCL on GPUs, gloo on CPU); pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
    chosen = torch.device(device or (f"cuda:{local_rank}" if use_cuda else "cpu"))
    if chosen.type == "cuda" and chosen.index is None:
        chosen = torch.device("cuda", local_rank)
    if world > 1 and not dist.is_initialized():
        if chosen.type == "cuda":
            torch.cuda.set_device(chosen)
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return Process(dist.get_rank() if world > 1 else 0, world, chosen)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema = decay * ema + (1 - decay) * model for parameters (as the official `accumulate`); buffers copied."""
    for target, source in zip(ema.parameters(), model.parameters()):
        target.lerp_(source.detach(), 1 - decay)
    for target, source in zip(ema.buffers(), model.buffers()):
        target.copy_(source)


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _mean_over_processes(values: dict[str, float], process: Process) -> dict[str, float]:
    if process.world == 1:
        return values
    tensor = torch.tensor(list(values.values()), dtype=torch.float64, device=process.device)
    dist.all_reduce(tensor)
    return dict(zip(values, (tensor / process.world).tolist()))


def save_grid(path: Path, columns: list[torch.Tensor]) -> None:
    """Rows = the first samples of the batch, columns = the stage's images; written as PNG."""
    size = columns[0].shape[-1]
    resized = [resize(c[:SAMPLE_ROWS].float(), size) for c in columns]
    grid = torch.cat([torch.cat(list(c), dim=2) for c in zip(*resized)], dim=1)
    image = ((grid.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, keep_suffix=True) as temporary:
        cv2.imwrite(str(temporary), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))


def train(stage: Stage, dataset: Dataset, config: TrainConfig, resume: str | None = None) -> list[dict]:
    """Train `stage` to `config.steps` (from a checkpoint when resuming); returns the logged records (main process)."""
    process = init_process(config.device)
    out = Path(config.out_dir)
    stage.to(process.device)
    model = stage.model
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f"stage {stage.name} has no trainable parameters")
    optimizer = torch.optim.Adam(trainable, lr=config.lr, betas=config.betas)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, config.lr_step, config.lr_gamma)
    start = 0
    resume_path = resolve_resume(resume, out)
    if resume_path is not None:
        container = load_checkpoint(resume_path)
        model.load_state_dict(container["net_G"])
        ema.load_state_dict(container["net_G_ema"])
        optimizer.load_state_dict(container["opt_G"])
        scheduler.load_state_dict(container["sch_G"])
        start = int(container["current_iteration"])
    wrapped = model
    if process.world > 1:
        wrapped = DistributedDataParallel(model, device_ids=[process.device.index] if process.device.type == "cuda" else None)
    sampler = StepBatches(config.batch_size, config.accumulation, process.world, process.rank, start)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=config.workers, pin_memory=process.device.type == "cuda")
    batches = iter(loader)
    global_batch = config.batch_size * config.accumulation * process.world
    autocast = torch.autocast(process.device.type, dtype=torch.bfloat16, enabled=config.bf16)
    if process.main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.json", json.dumps({"stage": stage.name, **asdict(config), "world_size": process.world}, indent=1))
    records: list[dict] = []
    started = time.perf_counter()
    for step in range(start, config.steps):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        for micro in range(config.accumulation):
            batch = _to_device(next(batches), process.device)
            last = micro == config.accumulation - 1
            with nullcontext() if last or process.world == 1 else wrapped.no_sync():
                with autocast:
                    total, terms = stage.loss(wrapped, batch, step)
                (total / config.accumulation).backward()
            for name, value in {**terms, "total": total}.items():
                totals[name] = totals.get(name, 0.0) + float(torch.as_tensor(value).detach()) / config.accumulation
        optimizer.step()
        scheduler.step()
        update_ema(ema, model, config.ema_decay)
        done = step + 1
        if done % config.log_every == 0 or done == config.steps:
            record = {"step": done, "lr": scheduler.get_last_lr()[0], **_mean_over_processes(totals, process)}
            if process.main:
                record["seconds_per_step"] = (time.perf_counter() - started) / (done - start)
                records.append(record)
                with open(out / "log.jsonl", "a", encoding="utf-8") as log:
                    log.write(json.dumps(record) + "\n")
                print(f"[{stage.name}] step {done}/{config.steps} " + " ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "step"), flush=True)
        if process.main and (done % config.sample_every == 0 or done == config.steps):
            with torch.no_grad(), autocast:
                save_grid(out / "samples" / f"iteration_{done:08d}.png", stage.samples(ema, batch))
        if done % config.save_every == 0 or done == config.steps:
            if process.main:
                save_checkpoint(
                    out,
                    {
                        "net_G_ema": ema.state_dict(),
                        "net_G": model.state_dict(),
                        "opt_G": optimizer.state_dict(),
                        "sch_G": scheduler.state_dict(),
                        "current_epoch": done * global_batch // max(len(dataset), 1),
                        "current_iteration": done,
                        "stage": stage.name,
                    },
                )
            if process.world > 1:
                dist.barrier()
    return records
