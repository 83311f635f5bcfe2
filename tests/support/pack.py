"""Import the repository as the ComfyUI custom-node package it is (relative imports need a parent package)."""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "comfyui_styleheat_pack"


@lru_cache(maxsize=1)
def pack() -> ModuleType:
    """The pack's root module, imported the way ComfyUI imports custom nodes (a package from a directory)."""
    spec = importlib.util.spec_from_file_location(PACKAGE, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


def node(node_id: str):
    """A fresh instance of a registered node class."""
    return pack().NODE_CLASS_MAPPINGS[node_id]()


def results(output) -> tuple:
    """A node's outputs, whether it returned them plainly or with an on-node preview ({"ui": ..., "result": ...})."""
    return output["result"] if isinstance(output, dict) else output
