"""BatchNorm step counters (`*.num_batches_tracked`) are training bookkeeping: files saved before torch
0.4.1 lack them and later ones carry them. The metric networks leave them out of their state dict,
and their layouts list them as allowed extras, so both kinds of official file load strictly."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

COUNTER = "num_batches_tracked"


def _drop_counters(module: nn.Module, state: OrderedDict, prefix: str, local_metadata: dict) -> None:
    for key in [k for k in state if k.endswith("." + COUNTER)]:
        del state[key]


def without_batch_counters(module: nn.Module) -> nn.Module:
    """The module, its state dict without BatchNorm counters (loading fills them with 0, as torch does for old files)."""
    module.register_state_dict_post_hook(_drop_counters)
    return module


def batch_counter_keys(build) -> tuple[str, ...]:
    """The counter keys a network built by `build()` would have (built on the meta device, no memory)."""
    with torch.device("meta"):
        module = build()
    return tuple(f"{name}.{COUNTER}" for name, sub in module.named_modules() if isinstance(sub, nn.modules.batchnorm._BatchNorm))
