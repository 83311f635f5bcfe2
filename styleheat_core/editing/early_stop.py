"""Stopping an optimisation when its loss stops improving (patience + minimum relative improvement)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class EarlyStop:
    """Stop after `patience` steps in a row that did not beat the best loss by `min_relative_improvement` (0.01 = 1 %)."""

    patience: int
    min_relative_improvement: float = 0.0

    def __post_init__(self) -> None:
        if self.patience < 1:
            raise ValueError(f"early-stop patience must be at least 1 step; got {self.patience}")
        if not 0.0 <= self.min_relative_improvement < 1.0:
            raise ValueError(f"min_relative_improvement must be in [0, 1); got {self.min_relative_improvement}")


@dataclass
class Plateau:
    """Tracks the best loss (updated only by a large enough improvement); `update(loss)` says whether to stop now."""

    rule: EarlyStop
    best: float = math.inf
    stale_steps: int = 0

    def update(self, loss: float) -> bool:
        if loss < self.best * (1.0 - self.rule.min_relative_improvement):
            self.best, self.stale_steps = loss, 0
        else:
            self.stale_steps += 1
        return self.stale_steps >= self.rule.patience
