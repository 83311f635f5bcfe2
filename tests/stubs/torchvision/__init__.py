"""Test-only stand-in for torchvision, which ComfyUI imports at start-up but our pack never uses.

PyPI's torchvision cannot be imported beside the CPU torch build of the test machines; ComfyUI only
needs the module names to exist for the models we never load.
"""

import sys
import types

for _name in ("transforms", "models", "ops", "io", "utils"):
    _module = types.ModuleType(f"torchvision.{_name}")
    sys.modules[f"torchvision.{_name}"] = _module
    globals()[_name] = _module
