"""Stand-in weights for the metric networks (seeded, saved in the official layouts) and the reference metric packages.

No real AlexNet, Inception or ArcFace weights exist on the test machines. The tests build seeded
weights, save them where the user's files go (models/styleheat/metrics/...) and feed the same
weights to the reference implementations (lpips, pytorch-fid), which run torchvision's own network
definitions through tests/stubs/torchvision.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import torch
from torch import nn

from styleheat_core.io.layouts import OFFICIAL_FILES
from tests.support.fake_checkpoints import write_fake

STUBS = Path(__file__).resolve().parents[1] / "stubs"
METRIC_FILES = ("metric_alexnet", "metric_lpips_alex", "metric_fid_inception", "metric_arcface")


@torch.no_grad()
def standin_state(key: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded weights for the official file `key`: PyTorch's default init, BatchNorm statistics and affine
    parameters spread so every normalisation matters, and non-negative LPIPS heads as the real ones are."""
    torch.manual_seed(seed)
    module = OFFICIAL_FILES[key].layout.build()
    for sub in module.modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            sub.running_mean.normal_(0.0, 0.1)
            sub.running_var.uniform_(0.5, 1.5)
            sub.weight.normal_(1.0, 0.1)
            sub.bias.normal_(0.0, 0.05)
    if key == "metric_lpips_alex":
        for parameter in module.parameters():
            parameter.uniform_(0.0, 2.0 / parameter.shape[1])
    return {name: value.clone() for name, value in module.state_dict().items()}


def write_standin(key: str, folder: Path, seed: int = 0, extra: dict[str, torch.Tensor] | None = None) -> Path:
    """The stand-in file of `key` under folder/<official path> (with `extra` entries, e.g. classifier weights)."""
    return write_fake(OFFICIAL_FILES[key], folder, {**standin_state(key, seed), **(extra or {})})


def standin_metric_folder(folder: Path) -> Path:
    """A model folder with every metric network file (stand-in weights)."""
    for index, key in enumerate(METRIC_FILES):
        write_standin(key, folder, seed=index)
    return folder


def reference_package(name: str):
    """Import a reference metric package (lpips, pytorch_fid) with torchvision served by tests/stubs/torchvision."""
    if str(STUBS) not in sys.path:
        sys.path.insert(0, str(STUBS))
    import torchvision

    assert hasattr(torchvision.models, "inception_v3"), (
        f"torchvision's model sources are missing from {torchvision.REFERENCE}: run scripts/setup.sh (it unpacks them there)"
    )
    return importlib.import_module(name)
