"""Convert official StyleHEAT checkpoint files to safetensors and verify them.

    python -m styleheat_core.convert SRC [SRC ...] --out-dir DIR [--fp16] [--as KIND]
    python -m styleheat_core.convert SRC [SRC ...] --verify-only
    python -m styleheat_core.convert --trust-this-file FILE [--out-dir DIR] [--fp16] [--as KIND]

Each file is recognised by its name (or `--as`, or by trying every official layout), checked
against the official layout, written as `<name>.safetensors` with only the tensors inference needs
(nested container keys joined by '/'), then read back through the same checks. The copy is written
under a temporary name and renamed into place, and never onto its own source.

Files are read safely (no pickled Python objects). `--trust-this-file FILE` is the explicit opt-in
for a file that needs full unpickling (an old checkpoint holding Python objects): it loads FILE with
`torch.load(weights_only=False)`, which runs any code the file carries, so use it only for a file
from a source you trust. It writes a safetensors copy holding the file's tensors only (verified
against the official layout when the file is one of the official files), which then loads safely.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from .io.atomic import atomic_path
from .io.checkpoints import (
    CONTAINER_SEPARATOR,
    ROOT_TENSOR_KEY,
    CheckpointError,
    check_readable_file,
    container_parts,
    read_safetensors,
    validated_parts,
)
from .io.layouts import OFFICIAL_FILES, ModuleEntry, OfficialFile, TensorEntry, identify

TRUST_WARNING = (
    "warning  --trust-this-file {path}: loading it with full unpickling (torch.load(weights_only=False)). "
    "Any Python code stored in the file runs now, with your permissions: do this only for a file from a source you trust. "
    "The safetensors copy holds tensors only and loads safely."
)


def recognise(path: Path, kind: str | None = None) -> OfficialFile:
    """The official file `path` holds: by `kind`, by name, else the one layout its content passes."""
    spec = _named(path, kind)
    if spec is not None:
        return spec
    for candidate in OFFICIAL_FILES.values():
        try:
            validated_parts(path, candidate)
        except CheckpointError:
            continue
        return candidate
    raise CheckpointError(f"{path}: not recognised as any official StyleHEAT file ({', '.join(f.filename for f in OFFICIAL_FILES.values())}); name it as the official file or pass --as KIND")


def _named(path: Path, kind: str | None) -> OfficialFile | None:
    """The official file given by `--as`, else the one the file's name refers to, else None."""
    if kind:
        if kind not in OFFICIAL_FILES:
            raise CheckpointError(f"--as {kind}: unknown kind; choose one of {sorted(OFFICIAL_FILES)}")
        return OFFICIAL_FILES[kind]
    return identify(path.name)


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


def refuse_own_input(source: Path, target: Path) -> None:
    """Raise CheckpointError when writing `target` would replace `source` (same path, symlink or hard link)."""
    if target.exists() and os.path.samefile(source, target):
        raise CheckpointError(
            f"{source}: the safetensors copy would be written onto the file itself ({target}); "
            f"pass --out-dir with another folder, so that the source stays untouched."
        )


def _write_verified(tensors: dict[str, torch.Tensor], target: Path, metadata: dict[str, str], check) -> Path:
    """Write `tensors` as safetensors under a temporary name, `check` the re-read container, then rename onto `target`."""
    with atomic_path(target) as temporary:
        save_file(tensors, str(temporary), metadata=metadata)
        check(read_safetensors(temporary))
    return target


def _cast(flat: Mapping[str, torch.Tensor], fp16: bool) -> dict[str, torch.Tensor]:
    dtype = torch.float16 if fp16 else torch.float32
    return {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in flat.items()}


def _metadata(spec_name: str, source: Path, fp16: bool) -> dict[str, str]:
    return {"styleheat_file": spec_name, "source": source.name, "dtype": "float16" if fp16 else "float32"}


def _official_copy(spec: OfficialFile, parts: dict[str, Any], source: Path, out_dir: Path, fp16: bool) -> Path:
    target = out_dir / (Path(spec.basename).stem + ".safetensors")
    refuse_own_input(source, target)
    tensors = _cast(_flat_layout(spec.layout, parts), fp16)
    return _write_verified(tensors, target, _metadata(spec.filename, source, fp16), lambda container: container_parts(container, target, spec))


def convert_file(path: Path, out_dir: Path, fp16: bool = False, kind: str | None = None) -> Path:
    """Write the verified safetensors twin of an official file and return its path."""
    spec = recognise(path, kind)
    return _official_copy(spec, validated_parts(path, spec), path, out_dir, fp16)


def load_trusted(path: Path) -> Any:
    """The file's content with full unpickling: RUNS ANY CODE THE FILE CARRIES. Only for files the user trusts."""
    check_readable_file(path, path.name, "check the path", "the file is empty")
    try:
        if path.suffix in (".npy", ".npz"):
            content = np.load(path, allow_pickle=True)
            return {k: content[k] for k in content.files} if isinstance(content, np.lib.npyio.NpzFile) else content
        if path.suffix == ".safetensors":
            return read_safetensors(path)
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise CheckpointError(f"{path} could not be loaded even with full unpickling ({type(error).__name__}: {error}); it is truncated, corrupt or not a checkpoint") from error


def tensors_only(node: Any) -> Any:
    """The tensors of a loaded object, nested as it nests them (arrays become tensors, modules give their state dict); None if it holds none."""
    if isinstance(node, torch.Tensor):
        return node.detach().cpu()
    if isinstance(node, np.ndarray) and node.dtype == object and node.ndim == 0:
        node = node.item()
    if isinstance(node, np.ndarray) and node.dtype.kind in "biuf":
        return torch.from_numpy(np.ascontiguousarray(node))
    if isinstance(node, nn.Module):
        node = node.state_dict()
    if isinstance(node, (list, tuple)):
        node = {str(i): value for i, value in enumerate(node)}
    if isinstance(node, Mapping):
        kept = {str(k): sub for k, sub in ((k, tensors_only(v)) for k, v in node.items()) if sub is not None}
        return kept or None
    return None


def _flatten(node: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    if isinstance(node, torch.Tensor):
        return {prefix.rstrip(CONTAINER_SEPARATOR) or ROOT_TENSOR_KEY: node}
    flat: dict[str, torch.Tensor] = {}
    for key, sub in node.items():
        flat.update(_flatten(sub, prefix + key + CONTAINER_SEPARATOR))
    return flat


def _matching_layout(container: Any, path: Path) -> tuple[OfficialFile, dict[str, Any]] | None:
    for candidate in OFFICIAL_FILES.values():
        try:
            return candidate, container_parts(container, path, candidate)
        except CheckpointError:
            continue
    return None


def convert_trusted(path: Path, out_dir: Path, fp16: bool = False, kind: str | None = None) -> Path:
    """Load a trusted file with full unpickling and write a verified safetensors copy of its tensors.

    An official file (by `kind`, name or content) is checked against its layout and keeps only what
    inference needs; any other file keeps all its tensors, keyed as it nests them.
    """
    container = tensors_only(load_trusted(path))
    if container is None:
        raise CheckpointError(f"{path} holds no tensors: nothing to convert")
    spec = _named(path, kind)
    if spec is not None:
        return _official_copy(spec, container_parts(container, path, spec), path, out_dir, fp16)
    matched = _matching_layout(container, path)
    if matched is not None:
        return _official_copy(*matched, path, out_dir, fp16)
    target = out_dir / (path.stem + ".safetensors")
    refuse_own_input(path, target)
    tensors = _cast(_flatten(container), fp16)

    def same_tensors(written: Any) -> None:
        reread = _flatten(written)
        if reread.keys() != tensors.keys() or not all(torch.equal(reread[k], v) for k, v in tensors.items()):
            raise CheckpointError(f"{target}: the written copy does not read back equal to {path}")

    return _write_verified(tensors, target, _metadata("", path, fp16), same_tensors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m styleheat_core.convert", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 3)[3],
    )
    parser.add_argument("sources", nargs="*", type=Path, help="official .pth/.pt/.npz/.mat files")
    parser.add_argument("--out-dir", type=Path, help="folder for the .safetensors files (default: beside each source)")
    parser.add_argument("--fp16", action="store_true", help="store floating tensors as float16 (half the size)")
    parser.add_argument("--as", dest="kind", choices=sorted(OFFICIAL_FILES), help="treat every source as this official file")
    parser.add_argument("--verify-only", action="store_true", help="only check the files, write nothing")
    parser.add_argument(
        "--trust-this-file", action="append", type=Path, default=[], metavar="FILE",
        help="load FILE with full unpickling (runs any code inside it: only for a file you trust) and write a safetensors copy",
    )
    args = parser.parse_args(argv)
    if not args.sources and not args.trust_this_file:
        parser.error("give at least one file to convert (or --trust-this-file FILE)")
    if args.verify_only and args.trust_this_file:
        parser.error("--verify-only reads files safely only; it cannot be combined with --trust-this-file")
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
    for source in args.trust_this_file:
        print(TRUST_WARNING.format(path=source), file=sys.stderr)
        try:
            target = convert_trusted(source, args.out_dir or source.parent, args.fp16, args.kind)
            print(f"written  {target} (from trusted {source}, verified)")
        except CheckpointError as error:
            failures += 1
            print(f"error    {error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
