#!/usr/bin/env bash
# Set up .venv (scripts/setup.sh), the test-only ComfyUI server (scripts/setup_comfyui.sh) and the browser that
# drives its frontend (scripts/setup_browser.sh), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_comfyui.sh
bash scripts/setup_browser.sh
.venv/bin/python -m pytest -q "$@"
