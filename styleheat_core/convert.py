"""Convert official StyleHEAT checkpoint files to safetensors and verify them.

    python -m styleheat_core.convert SRC [SRC ...] --out-dir DIR [--fp16] [--as KIND]
    python -m styleheat_core.convert SRC [SRC ...] --verify-only

Each file is recognised by its name (or `--as`, or by trying every official layout), checked
against the official layout, written as `<name>.safetensors` with only the tensors inference needs
(nested container keys joined by '/'), then read back through the same checks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import torch
from safetensors.torch import save_file

from .io.checkpoints import CONTAINER_SEPARATOR, ROOT_TENSOR_KEY, CheckpointError, validated_parts
from .io.layouts import OFFICIAL_FILES, ModuleEntry, OfficialFile, TensorEntry, identify


def recognise(path: Path, kind: str | None = None) -> OfficialFile:
    """The official file `path` holds: by `kind`, by name, else the one layout its content passes."""
    if kind:
        if kind not in OFFICIAL_FILES:
            raise CheckpointError(f"--as {kind}: unknown kind; choose one of {sorted(OFFICIAL_FILES)}")
        return OFFICIAL_FILES[kind]
    spec = identify(path.name)
    if spec is not None:
        return spec
    for candidate in OFFICIAL_FILES.values():
        try:
            validated_parts(path, candidate)
        except CheckpointError:
            continue
        return candidate
    raise CheckpointError(f"{path}: not recognised as any official StyleHEAT file ({', '.join(f.filename for f in OFFICIAL_FILES.values())}); name it as the official file or pass --as KIND")


def _flat_layout(layout: Any, parts: dict[str, Any], prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of a validated file keyed as the file nests them, container levels joined by '/'."""
    if isinstance(layout, ModuleEntry):
        return {prefix + layout.prefix + k: v for k, v in parts[layout.name].items()}
    if isinstance(layout, TensorEntry):
        return {prefix.rstrip(CONTAINER_SEPARATOR) or ROOT_TENSOR_KEY: parts[layout.name]}
    if isinstance(layout, list):
        flat: dict[str, torch.Tensor] = {}
        for entry in layout:
            flat.update(_flat_layout(entry, parts, prefix))
        return flat
    flat = {}
    for key, sub in layout.items():
        flat.update(_flat_layout(sub, parts, prefix + key + CONTAINER_SEPARATOR))
    return flat


def convert_file(path: Path, out_dir: Path, fp16: bool = False, kind: str | None = None) -> Path:
    """Write the verified safetensors twin of an official file and return its path."""
    spec = recognise(path, kind)
    flat = _flat_layout(spec.layout, validated_parts(path, spec))
    dtype = torch.float16 if fp16 else torch.float32
    tensors = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in flat.items()}
    target = out_dir / (Path(spec.basename).stem + ".safetensors")
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(target), metadata={"styleheat_file": spec.filename, "source": path.name, "dtype": str(dtype).removeprefix("torch.")})
    validated_parts(target, spec)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m styleheat_core.convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", type=Path, help="official .pth/.pt/.npz/.mat files")
    parser.add_argument("--out-dir", type=Path, help="folder for the .safetensors files (default: beside each source)")
    parser.add_argument("--fp16", action="store_true", help="store floating tensors as float16 (half the size)")
    parser.add_argument("--as", dest="kind", choices=sorted(OFFICIAL_FILES), help="treat every source as this official file")
    parser.add_argument("--verify-only", action="store_true", help="only check the files, write nothing")
    args = parser.parse_args(argv)
    failures = 0
    for source in args.sources:
        try:
            if args.verify_only:
                spec = recognise(source, args.kind)
                validated_parts(source, spec)
                print(f"ok       {source} is a valid {spec.filename}")
            else:
                target = convert_file(source, args.out_dir or source.parent, args.fp16, args.kind)
                print(f"written  {target} (from {source}, verified)")
        except CheckpointError as error:
            failures += 1
            print(f"error    {error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
