"""One real-size training iteration per stage (forward, backward, Adam step), timed.

    python benchmarks/train_step.py [--device cuda] [--batch 4] [--iterations 5]

Stage 1: the full VideoWarper with the multi-scale VGG19 perceptual loss at 256². Stage 2: the
calibrator over the frozen 1024 StyleGAN2, e4e + HFGI inversion and the 256 discriminator, losses at
512². Recipe weights (tests/golden), random images; fp32 and bf16 autocast.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from styleheat_core.models.discriminator import Discriminator  # noqa: E402
from styleheat_core.models.vgg19 import VGG19Features  # noqa: E402
from styleheat_core.pipeline.inversion import invert  # noqa: E402
from styleheat_core.train.stage1 import WarperStage  # noqa: E402
from styleheat_core.train.stage2 import CalibrationStage, FrozenNetworks  # noqa: E402
from tests.support.golden import network_state_dict  # noqa: E402
from tests.support.recipe_networks import recipe_networks  # noqa: E402


def _batch(size: int, batch: int, device: torch.device, aligned: bool) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    item = {
        "source_image": torch.rand(batch, 3, size, size, generator=g) * 2 - 1,
        "target_image": torch.rand(batch, 3, size, size, generator=g) * 2 - 1,
        "source_semantics": torch.randn(batch, 73, 27, generator=g) * 0.1,
        "target_semantics": torch.randn(batch, 73, 27, generator=g) * 0.1,
        "source_landmarks": (0.3 + 0.4 * torch.rand(batch, 68, 2, generator=g)) * size,
        "target_landmarks": (0.3 + 0.4 * torch.rand(batch, 68, 2, generator=g)) * size,
        "mirror": torch.zeros(batch, dtype=torch.bool),
    }
    if aligned:
        item["source_align"], item["target_align"] = item["source_image"], item["target_image"]
    return {k: v.to(device) for k, v in item.items()}


def _time(stage, batch: dict[str, torch.Tensor], iterations: int, bf16: bool, device: torch.device) -> tuple[float, float]:
    """Seconds per iteration (after one warm-up) and peak GPU memory in GiB (0 on the CPU)."""
    params = [p for p in stage.model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-4, betas=(0.5, 0.999))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for i in range(iterations + 1):
        if i == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss, _ = stage.loss(stage.model, batch, i)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else 0.0
    return (time.perf_counter() - start) / iterations, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    vgg = VGG19Features()
    vgg.load_state_dict(network_state_dict("vgg19"), strict=True)
    nets = recipe_networks()
    stage1 = WarperStage(vgg)
    stage1.to(device)
    frozen = FrozenNetworks(nets.generator.to(device), lambda x: invert(nets.generator, nets.encoders, x), Discriminator(256).to(device))
    nets.encoders.to(device)
    stage2 = CalibrationStage(nets.motion.video_warper, nets.motion.calibrator, frozen, vgg, image_size=512)
    stage2.to(device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(f"{name}, torch {torch.__version__}, batch {args.batch} (doubled by the both-ways pairs), {args.iterations} timed iterations")
    print("| stage | precision | s/iteration | peak GPU GiB |\n|---|---|---|---|")
    for label, stage, size, aligned in (("stage 1 (warper, 256²)", stage1, 256, False), ("stage 2 (calibrator, 512² losses)", stage2, 512, True)):
        batch = _batch(size, args.batch, device, aligned)
        for bf16 in (False, True):
            seconds, peak = _time(stage, batch, args.iterations, bf16, device)
            print(f"| {label} | {'bf16 autocast' if bf16 else 'fp32'} | {seconds:.3f} | {peak:.1f} |")


if __name__ == "__main__":
    main()
