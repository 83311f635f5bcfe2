#!/usr/bin/env bash
# Create .venv with the pack, its dependencies and the test tools.
# CPU torch comes from the local wheel folder when the machine has one (/opt/wheels), else from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
python_bin=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
pip_install() { .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }
wheels=()
if [ -d /opt/wheels ]; then wheels=(--find-links /opt/wheels); fi
pip_install "${wheels[@]}" "torch==2.13.0"
pip_install "${wheels[@]}" -e ".[test]"
# Evaluation tests: the reference metric packages (tests/requirements-reference.txt), without their torchvision
# dependency; torchvision's pure-Python sources go to .cache/torchvision-reference (never imported as a package).
pip_install "${wheels[@]}" --no-deps -r tests/requirements-reference.txt
[ -f .cache/torchvision-reference/torchvision/models/inception.py ] || pip_install "${wheels[@]}" --no-deps --target .cache/torchvision-reference "torchvision==0.29.1"
