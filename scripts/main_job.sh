#!/usr/bin/env bash
# The README's main job on a fresh machine: set up, fetch missing checkpoints into models/styleheat,
# and run the video-driven example workflow headless in ComfyUI.
#   bash scripts/main_job.sh PORTRAIT DRIVING_VIDEO [OUT.mp4]
set -euo pipefail
cd "$(dirname "$0")/.."
portrait=$(realpath "$1"); video=$(realpath "$2"); out=$(realpath -m "${3:-talking.mp4}")
bash scripts/setup.sh
bash scripts/setup_comfyui.sh
models=${STYLEHEAT_MODELS_DIR:-models/styleheat}
.venv/bin/python -m styleheat_core.download --dest "$models" --yes --only stylegan e4e hfgi styleheat deep3d bfm_landmarks
.venv/bin/python -m scripts.run_main_job --portrait "$portrait" --video "$video" --out "$out" --models "$models"
