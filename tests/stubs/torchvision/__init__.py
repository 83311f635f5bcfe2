"""Test-only stand-in for torchvision, which ComfyUI imports at start-up but our pack never uses.

PyPI's torchvision cannot be imported beside the CPU torch build of the test machines; ComfyUI only
needs the module names to exist for the models we never load.

The evaluation tests run the reference metric packages (lpips, pytorch-fid), which build torchvision's
AlexNet and Inception3. When torchvision's sources are unpacked in .cache/torchvision-reference
(scripts/setup.sh; or $STYLEHEAT_TORCHVISION_REFERENCE), `torchvision.models.alexnet`,
`torchvision.models.inception` and `inception_v3` are torchvision's own pure-Python definitions,
loaded without torchvision's compiled ops. Only what those paths never run stays stubbed: the
transform presets (named by the weight enums) and the API-usage logging.
"""

import os
import re
import sys
import types
from pathlib import Path


def _stub(name: str) -> types.ModuleType:
    module = types.ModuleType(f"torchvision.{name}")
    sys.modules[module.__name__] = module
    return module


transforms, models, ops, io, utils = (_stub(name) for name in ("transforms", "models", "ops", "io", "utils"))

_DEFAULT_REFERENCE = Path(__file__).resolve().parents[3] / ".cache" / "torchvision-reference"
REFERENCE = Path(os.environ.get("STYLEHEAT_TORCHVISION_REFERENCE", _DEFAULT_REFERENCE)) / "torchvision"


class _UnusedPreset:
    """Stands for torchvision.transforms._presets.ImageClassification, which only the weight enums name."""


def _expose_reference_models() -> None:
    """Serve torchvision.models.* and the pure helpers (_utils, _internally_replaced_utils) from the real sources."""
    global __version__
    __version__ = re.search(r"__version__ = '([^']+)'", (REFERENCE / "version.py").read_text()).group(1)
    __path__.append(str(REFERENCE))
    models.__path__ = [str(REFERENCE / "models")]
    presets = types.ModuleType("torchvision.transforms._presets")
    presets.ImageClassification = _UnusedPreset
    sys.modules[presets.__name__] = transforms._presets = presets
    utils._log_api_usage_once = lambda _obj: None
    from .models import alexnet as alexnet_module
    from .models import inception

    models.alexnet = alexnet_module.alexnet
    models.inception = inception
    models.inception_v3 = inception.inception_v3


if (REFERENCE / "models" / "inception.py").is_file():
    _expose_reference_models()
