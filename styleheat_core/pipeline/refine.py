"""The optimisation inversion as a pipeline step: an encoder inversion refined into an `OptimizedInversion`."""

from __future__ import annotations

from typing import Callable

import torch

from ..editing.early_stop import EarlyStop
from ..editing.inversion_loss import InversionLoss
from ..editing.optimize_inversion import StepReport, optimize_inversion
from ..models.ops import resize
from ..models.stylegan2 import Generator
from .inversion import ENCODER_SIZE, EncodedInversion, OptimizedInversion


def refine_inversion(
    generator: Generator,
    inversion: EncodedInversion,
    source: torch.Tensor,
    loss: InversionLoss,
    steps: int,
    on_step: Callable[[StepReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    early_stop: EarlyStop | None = None,
) -> OptimizedInversion:
    """The official optimisation inversion (float32, with gradients) from `inversion` towards `source` (B,3,H,W) in [-1,1].

    The generator runs in float32 for the optimisation and gets its own dtype back afterwards, also
    when the run is cancelled; the result is in that dtype.
    """
    dtype = next(generator.parameters()).dtype
    target = resize(source.float().to(inversion.w_plus.device), ENCODER_SIZE)
    generator.float()
    try:
        with torch.enable_grad():
            result = optimize_inversion(
                generator,
                target,
                inversion.w_plus.float(),
                inversion.feature.float(),
                loss,
                steps=steps,
                on_step=on_step,
                should_stop=should_stop,
                early_stop=early_stop,
            )
    finally:
        generator.to(dtype)
    return OptimizedInversion(result.w_plus.to(dtype), result.feature.to(dtype), result.image256.to(dtype))
