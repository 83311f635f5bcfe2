"""Optimisation inversion on recipe weights: time per step and how much the reconstruction loss falls.

    python benchmarks/optimize_inversion.py [--steps 50] [--device cpu|cuda] [--threads N]

Recipe-weight StyleGAN2 (1024², the official architecture) and VGG19 from tests/golden, the
encoder inversion, source and ffhq_PCA.npz stand-in of the golden case `optimize_inversion_step`.
Prints one line per step and a JSON summary: loss_l2 (MSE at 1024) and the total loss at the
first and last step, their ratios, and the mean step time (first step excluded when there are more).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from styleheat_core.editing.inversion_loss import InversionLoss, WPlusPCA
from styleheat_core.editing.optimize_inversion import StepReport, optimize_inversion
from styleheat_core.models.stylegan2 import Generator
from styleheat_core.models.vgg19 import VGG19Features
from tests.support.golden import GoldenCase, network_state_dict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    case = GoldenCase.load("optimize_inversion_step")
    generator = Generator(1024, 512, 8, channel_multiplier=2)
    generator.load_state_dict(network_state_dict("stylegan2"), strict=True)
    vgg = VGG19Features()
    vgg.load_state_dict(network_state_dict("vgg19"), strict=True)
    pca = WPlusPCA(*(case.input(f"in.X_{name}").to(device) for name in ("mean", "comp", "stdev")))
    loss = InversionLoss(vgg.to(device), pca)
    history: list[dict] = []
    clock = [time.perf_counter()]

    def record(report: StepReport) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        entry = {"step": report.step, "seconds": now - clock[0], "loss": float(report.loss), "loss_l2": float(report.components["loss_l2"])}
        clock[0] = now
        history.append(entry)
        print(json.dumps(entry), flush=True)

    result = optimize_inversion(
        generator.eval().to(device),
        case.input("in.image256").to(device),
        case.input("in.w_plus").to(device),
        case.input("in.f_init").to(device),
        loss,
        steps=args.steps,
        on_step=record,
    )
    timed = history[1:] if len(history) > 1 else history
    first, last = history[0], history[-1]
    summary = {
        "steps": result.steps_run,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "seconds_per_step": sum(e["seconds"] for e in timed) / len(timed),
        "loss_l2_first": first["loss_l2"],
        "loss_l2_last": last["loss_l2"],
        "loss_l2_factor": first["loss_l2"] / last["loss_l2"],
        "loss_first": first["loss"],
        "loss_last": last["loss"],
        "loss_factor": first["loss"] / last["loss"],
    }
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
