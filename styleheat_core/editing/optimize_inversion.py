"""Optimisation-based inversion (the official `HFGI.optimize_inverse`): refine W+ rows 9..17 and the 64x64 feature.

Starting from the encoder inversion, Adam (lr 0.01) minimises `InversionLoss` against the source
upsampled to 1024. As official, the returned W+ is the one rendered in the last step (before that
step's update) while the feature is the updated one. Beyond the official fixed 250 steps, a run
can stop early when the loss plateaus (`EarlyStop`) or when `should_stop` says so (cancel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..models.ops import resize
from ..models.stylegan2 import Generator
from .early_stop import EarlyStop, Plateau
from .inversion_loss import InversionLoss

FIRST_OPTIMISED_ROW = 9
OUTPUT_SIZE = 1024


@dataclass
class StepReport:
    """What one optimisation step saw: the rendered image, the loss parts, and the state after the update."""

    step: int
    loss: torch.Tensor
    components: dict[str, torch.Tensor]
    image: torch.Tensor
    rows: list[torch.Tensor]
    feature: torch.Tensor


@dataclass
class OptimizationResult:
    """The refined W+ and feature, the last rendering at 256, and why the run ended: 'steps', 'plateau' or 'cancelled'."""

    w_plus: torch.Tensor
    feature: torch.Tensor
    image256: torch.Tensor
    steps_run: int
    stop_reason: str = "steps"


def optimize_inversion(
    generator: Generator,
    image256: torch.Tensor,
    w_plus: torch.Tensor,
    f_init: torch.Tensor,
    loss: InversionLoss,
    steps: int = 250,
    lr: float = 0.01,
    on_step: Callable[[StepReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    early_stop: EarlyStop | None = None,
) -> OptimizationResult:
    """Run up to `steps` Adam steps; `on_step` sees each step, `should_stop` cancels after any step (at least one runs),
    `early_stop` ends the run once the total loss has stopped improving."""
    if steps < 1:
        raise ValueError(f"optimisation needs at least 1 step; got {steps}")
    target = resize(image256, OUTPUT_SIZE)
    rows = [w_plus[0, i].detach().clone().requires_grad_(i >= FIRST_OPTIMISED_ROW) for i in range(w_plus.shape[1])]
    feature_init = f_init.detach()
    feature = f_init.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam(rows[FIRST_OPTIMISED_ROW:] + [feature], lr=lr)
    plateau = Plateau(early_stop) if early_stop is not None else None
    steps_run, stop_reason = 0, "steps"
    for step in range(steps):
        if step and should_stop is not None and should_stop():
            stop_reason = "cancelled"
            break
        optimizer.zero_grad()
        current = torch.stack(rows).unsqueeze(0)
        image = generator(current, f_condition=feature).image
        total, components = loss(image, target, current, feature, feature_init)
        total.backward()
        optimizer.step()
        steps_run = step + 1
        if on_step is not None:
            on_step(StepReport(step, total.detach(), {k: v.detach() for k, v in components.items()}, image.detach(), rows, feature))
        if plateau is not None and plateau.update(float(total.detach())):
            stop_reason = "plateau"
            break
    image256_out = resize(image.detach(), 256)
    return OptimizationResult(current.detach(), feature.detach(), image256_out, steps_run, stop_reason)
