#!/usr/bin/env bash
# The README's main job on a fresh machine: set up, fetch missing checkpoints into models/styleheat,
# and run the video-driven example workflow headless in ComfyUI.
#   bash scripts/main_job.sh PORTRAIT DRIVING_VIDEO [OUT.mp4] [--size 1024|512|256]
# Paths are taken relative to the folder you run it from (as is $STYLEHEAT_MODELS_DIR). The inputs and
# the output folder are checked before any setup, so a typo fails at once.
set -euo pipefail
usage="usage: bash scripts/main_job.sh PORTRAIT DRIVING_VIDEO [OUT.mp4] [--size 1024|512|256]"
fail() { echo "error: $1" >&2; exit "${2:-1}"; }

size=1024
positional=()
while [ $# -gt 0 ]; do
    case "$1" in
        --size) [ $# -ge 2 ] || fail "--size needs a value. $usage" 2; size=$2; shift 2 ;;
        --size=*) size=${1#--size=}; shift ;;
        -h | --help) echo "$usage"; exit 0 ;;
        *) positional+=("$1"); shift ;;
    esac
done
[ ${#positional[@]} -ge 2 ] && [ ${#positional[@]} -le 3 ] || fail "$usage" 2
case "$size" in 1024 | 512 | 256) ;; *) fail "--size must be 1024, 512 or 256 (got '$size')" 2 ;; esac

portrait=$(realpath -m -- "${positional[0]}")
video=$(realpath -m -- "${positional[1]}")
out=$(realpath -m -- "${positional[2]:-talking.mp4}")
[ -f "$portrait" ] && [ -r "$portrait" ] || fail "portrait $portrait does not exist or cannot be read"
[ -f "$video" ] && [ -r "$video" ] || fail "driving video $video does not exist or cannot be read"
[ ! -d "$out" ] || fail "output $out is a folder: give a file name, e.g. $out/talking.mp4"
folder=$(dirname -- "$out")
mkdir -p -- "$folder" 2>/dev/null || fail "cannot create the output folder $folder"
probe=$(mktemp -p "$folder" .styleheat-write-test.XXXXXX 2>/dev/null) || fail "the output folder $folder is not writable"
rm -f -- "$probe"

repository=$(realpath -- "$(dirname -- "$0")/..")
models=$(realpath -m -- "${STYLEHEAT_MODELS_DIR:-$repository/models/styleheat}")
cd "$repository"
bash scripts/setup.sh
bash scripts/setup_comfyui.sh
.venv/bin/python -m styleheat_core.download --dest "$models" --yes --only stylegan e4e hfgi styleheat deep3d bfm_landmarks
.venv/bin/python -m scripts.run_main_job --portrait "$portrait" --video "$video" --out "$out" --models "$models" --size "$size"
