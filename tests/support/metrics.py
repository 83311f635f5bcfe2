"""Stand-in weights for the metric networks (seeded, saved in the official layouts) and the reference metric packages.

No real AlexNet, Inception or ArcFace weights exist on the test machines. The tests build seeded
weights, save them where the user's files go (models/styleheat/metrics/...) and feed the same
weights to the reference implementations (lpips, pytorch-fid), which run torchvision's own network
definitions through tests/stubs/torchvision.
"""

from __future__ import annotations

import importlib
import sys
from functools import cache
from pathlib import Path

import torch
from torch import nn

from styleheat_core.io.layouts import OFFICIAL_FILES
from tests.support.fake_checkpoints import write_fake

STUBS = Path(__file__).resolve().parents[1] / "stubs"
METRIC_FILES = ("metric_alexnet", "metric_lpips_alex", "metric_fid_inception", "metric_arcface")


# Inputs that set the BatchNorm statistics of the stand-ins (sizes kept small; Inception resizes to 299 itself).
CALIBRATION_INPUTS = {"metric_fid_inception": (64, 0.0), "metric_arcface": (112, -1.0)}


def _smooth_images(count: int, size: int, low: float) -> torch.Tensor:
    coarse = torch.rand(count, 3, 8, 8)
    return low + (1.0 - low) * torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


@cache
def _standin_state(key: str, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    module = OFFICIAL_FILES[key].layout.build().eval()
    norms = [sub for sub in module.modules() if isinstance(sub, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for norm in norms:
            norm.weight.normal_(1.0, 0.1)
            norm.bias.normal_(0.0, 0.05)
        if key in CALIBRATION_INPUTS:
            for norm in norms:
                norm.reset_running_stats()
                norm.momentum = None
                norm.train()
            module(_smooth_images(6, *CALIBRATION_INPUTS[key]))
            module.eval()
        if key == "metric_lpips_alex":
            for parameter in module.parameters():
                parameter.uniform_(0.0, 0.5)
    return {name: value.clone() for name, value in module.state_dict().items()}


def standin_state(key: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded weights for the official file `key`: PyTorch's default init; BatchNorm affine parameters spread
    and running statistics measured on seeded smooth images (so the features vary as trained ones do);
    non-negative LPIPS heads as the real ones are."""
    return {name: value.clone() for name, value in _standin_state(key, seed).items()}


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
