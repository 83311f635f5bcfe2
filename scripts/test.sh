#!/usr/bin/env bash
# Set up .venv (scripts/setup.sh) and the test-only ComfyUI server (scripts/setup_comfyui.sh), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_comfyui.sh
.venv/bin/python -m pytest -q "$@"
