"""Reading the official checkpoint files strictly, with errors that say which file, where and what differs.

Files are read with `torch.load(weights_only=True)` (.pth/.pt), safetensors (our converted twins,
nested container keys joined by '/'), numpy without pickle (.npz) or scipy (.mat).

Lean loading: a .pth/.pt zip archive is memory-mapped (`torch.load(mmap=True)`), so the parts of a
file no network uses (the discriminator next to the generator, optimiser states) are never read, and
a network is built on the meta device and adopts the checked tensors instead of copying them into
randomly initialised ones, so no network exists twice while it loads (benchmarks/RESULTS.md, #16).
"""

from __future__ import annotations

import argparse
import pickle
import re
import shlex
import zipfile
from collections.abc import Iterator, Mapping
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .layouts import MODEL_FOLDER, Entry, Layout, ModuleEntry, OfficialFile, TensorEntry

CONTAINER_SEPARATOR = "/"
# Key under which a file that is one bare tensor stores it in safetensors.
ROOT_TENSOR_KEY = "tensor"
MAX_LISTED = 8
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or does not hold what the official file holds."""


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_LISTED])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > MAX_LISTED else "")


def _where(spec: OfficialFile) -> str:
    return f"put the official {spec.filename} into ComfyUI/{MODEL_FOLDER}/{spec.filename.rsplit('/', 1)[0] + '/' if '/' in spec.filename else ''} (from {spec.source})"


def _unflatten(flat: Mapping[str, torch.Tensor]) -> dict:
    nested: dict = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(CONTAINER_SEPARATOR)
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _first_sentence(error: BaseException) -> str:
    """The exception's type and the first sentence of its first non-empty line (the type alone when it has no text)."""
    for line in str(error).splitlines():
        if line.strip():
            return f"{type(error).__name__}: {SENTENCE_END.split(line.strip(), maxsplit=1)[0]}"
    return type(error).__name__


def _weights_only_refusal(error: BaseException) -> str | None:
    """Why torch's safe unpickler refused the file, in its own words ('Unsupported operand 60'), or None if it did not."""
    text = str(error)
    if not isinstance(error, pickle.UnpicklingError) or "weights only load failed" not in text.lower():
        return None
    detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text) or re.search(r"^\s*(Trying to load [^\n]*)", text, re.MULTILINE)
    return detail.group(1).strip() if detail else "refused by weights_only"


def needs_unpickling(error: BaseException) -> bool:
    """Whether a safe load refused the file because it holds pickled Python objects (torch weights_only, numpy allow_pickle).

    A file that is no pickle at all (an HTML page, random bytes) is also refused by weights_only, but
    only a refusal that names a Python global or class means objects that would run code.
    """
    if isinstance(error, ValueError) and "allow_pickle=false" in str(error).lower():
        return True
    reason = _weights_only_refusal(error)
    return reason is not None and re.search(r"GLOBAL|global|class|Can only build", reason) is not None


def _refused_object(error: BaseException) -> str:
    """The Python object the safe loader refused to create, as torch names it (' (it needs posix.system)'), or ''."""
    found = re.search(r"GLOBAL ([\w.]+)", str(error))
    return f" (it needs {found.group(1)})" if found else ""


def _reason(error: BaseException) -> str:
    refusal = _weights_only_refusal(error)
    return f"not a PyTorch checkpoint: {refusal}" if refusal else _first_sentence(error)


def unreadable(path: Path, what: str, remedy: str, error: BaseException, expected: str = "a checkpoint") -> CheckpointError:
    """The error for a file that a safe loader could not read: unsafe content, or truncated/corrupt/wrong format."""
    if needs_unpickling(error):
        return CheckpointError(
            f"{what} at {path} cannot be read safely: it contains Python objects that could run code; it was not loaded{_refused_object(error)}. "
            f"If you trust where this file comes from, make a safetensors copy with "
            f"`python -m styleheat_core.convert --trust-this-file {shlex.quote(str(path))}` and use the copy; otherwise {remedy}."
        )
    return CheckpointError(f"{what} at {path} could not be read ({_reason(error)}). The file is truncated, corrupt or not {expected}: {remedy}.")


def check_readable_file(path: Path, what: str, missing: str, remedy: str) -> None:
    """Raise CheckpointError when `path` is not a file (`missing` says where to put it) or is empty (0 bytes)."""
    if not path.is_file():
        raise CheckpointError(f"{what} not found at {path}: {missing}.")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{what} at {path} is empty: {remedy}.")


def _download_again(spec: OfficialFile) -> str:
    return f"download it again ({spec.source})"


def read_safetensors(path: Path) -> Any:
    """A safetensors file as the container it was flattened from (nested keys joined by '/'; one bare tensor alone)."""
    from safetensors.torch import load_file

    flat = load_file(str(path))
    return flat[ROOT_TENSOR_KEY] if list(flat) == [ROOT_TENSOR_KEY] else _unflatten(flat)


def read_tensor_file(path: str | Path, what: str, missing: str, remedy: str, expected: str = "a checkpoint") -> Any:
    """A file of tensors read without pickle (by its suffix: safetensors, npz, npy, mat, else `torch.load(weights_only=True)`).

    `what` names the file in errors, `missing` says where to put it, `remedy` what to do if it is unreadable.
    """
    path = Path(path)
    check_readable_file(path, what, missing, remedy)
    try:
        if path.suffix == ".safetensors":
            return read_safetensors(path)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return {k: torch.from_numpy(np.array(data[k])) for k in data.files}
        if path.suffix == ".npy":
            return torch.from_numpy(np.load(path, allow_pickle=False))
        if path.suffix == ".mat":
            from scipy.io import loadmat

            return {k: torch.from_numpy(np.asarray(v)) for k, v in loadmat(str(path)).items() if not k.startswith("__")}
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as error:
        raise unreadable(path, what, remedy, error, expected) from error


def read_container(path: str | Path, spec: OfficialFile) -> Any:
    """An official file's content as nested dicts of tensors (or one tensor), without interpreting it."""
    return read_tensor_file(path, spec.filename, _where(spec), _download_again(spec))


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, Mapping):
        return f"a dict with keys [{_listing(sorted(map(str, value)))}]"
    return f"a {type(value).__name__}"


def _entries(layout: Layout, node: Any, path: Path, spec: OfficialFile, where: str = "", siblings: tuple = ()) -> Iterator[tuple[Entry, Any, str, tuple]]:
    """Walk a layout and the loaded container together: (entry, value, location, module entries sharing the value)."""
    if isinstance(layout, (ModuleEntry, TensorEntry)):
        yield layout, node, where, siblings
        return
    if isinstance(layout, list):
        for entry in layout:
            yield from _entries(entry, node, path, spec, where, tuple(layout))
        return
    if not isinstance(node, Mapping):
        raise CheckpointError(
            f"{path} is not {spec.filename}: expected a dict with keys [{', '.join(layout)}]{' at ' + where if where else ''}, found {_describe(node)}. "
            f"{_where(spec).capitalize()}."
        )
    missing = [k for k in layout if k not in node]
    if missing:
        raise CheckpointError(
            f"{path} is not {spec.filename}: it lacks the entries [{', '.join(missing)}]{' in ' + where if where else ''}; "
            f"found {_describe(node)}. Expected {spec.what}."
        )
    for key, sub_layout in layout.items():
        yield from _entries(sub_layout, node[key], path, spec, f"{where}[{key!r}]")


def _expected_state(entry: ModuleEntry) -> dict[str, torch.Size]:
    with torch.device("meta"):
        module = entry.build()
    return {k: v.shape for k, v in module.state_dict().items()}


def _module_state(entry: ModuleEntry, node: Any, siblings: tuple, path: Path, spec: OfficialFile, where: str) -> dict[str, torch.Tensor]:
    """The keys of `node` that belong to `entry`, prefix stripped, checked against the network's own keys."""
    if not isinstance(node, Mapping):
        raise CheckpointError(f"{path}{where}: expected the state dict of the {entry.name} network, found {_describe(node)}. Expected {spec.what}.")
    state = {k[len(entry.prefix) :]: v for k, v in node.items() if k.startswith(entry.prefix)}
    expected = _expected_state(entry)
    missing = [k for k in expected if k not in state]
    unexpected = [entry.prefix + k for k in state if k not in expected and not k.startswith(entry.ignored_prefixes)]
    unexpected += [k for k in node if siblings and not any(k.startswith(e.prefix) for e in siblings)]
    wrong = [
        f"{entry.prefix}{k}: expected {tuple(expected[k])}, found {tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__}"
        for k, v in state.items()
        if k in expected and (not isinstance(v, torch.Tensor) or v.shape != expected[k])
    ]
    if missing or unexpected or wrong:
        lines = [f"{path}{where} does not match the {entry.name} network of {spec.filename} ({spec.what}):"]
        if missing:
            lines.append(f"  missing keys: {_listing([entry.prefix + k for k in missing])}")
        if unexpected:
            lines.append(f"  unexpected keys: {_listing(sorted(set(unexpected)))}")
        if wrong:
            lines.append(f"  mis-shaped keys: {_listing(wrong)}")
        lines.append(f"  Is this the official {spec.filename}? {_where(spec).capitalize()}.")
        raise CheckpointError("\n".join(lines))
    return {k: v for k, v in state.items() if k in expected}


def validated_parts(path: str | Path, spec: OfficialFile) -> dict[str, Any]:
    """Read a file and check it against its layout: {entry name: state dict or tensor}."""
    return container_parts(read_container(path, spec), Path(path), spec)


def _check_finite(parts: dict[str, Any], path: Path, spec: OfficialFile) -> None:
    """Refuse weights holding NaN or infinity: they would render black or saturated frames without any error."""
    bad = []
    for name, part in parts.items():
        tensors = part.items() if isinstance(part, Mapping) else [("", part)]
        bad += [f"{name}.{key}".rstrip(".") for key, t in tensors if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise CheckpointError(
            f"{path} holds NaN or infinite values in {_listing(bad)}: the file is damaged or was saved from a diverged training run. "
            f"{_where(spec).capitalize()}."
        )


def container_parts(container: Any, path: Path, spec: OfficialFile) -> dict[str, Any]:
    """Check an already loaded container against the layout of `spec` (`path` names it in errors), values finite."""
    parts: dict[str, Any] = {}
    for entry, value, where, siblings in _entries(spec.layout, container, path, spec):
        if isinstance(entry, ModuleEntry):
            parts[entry.name] = _module_state(entry, value, siblings, path, spec, where)
        else:
            if not isinstance(value, torch.Tensor) or not entry.accepts(tuple(value.shape)):
                raise CheckpointError(
                    f"{path}{where}: expected the {entry.name} tensor of shape {' or '.join(map(str, entry.shapes))} (-1 = any), found {_describe(value)}. "
                    f"Is this the official {spec.filename}? {_where(spec).capitalize()}."
                )
            # A copy: a tensor of a memory-mapped file would otherwise keep the whole file mapped (and its networks resident).
            parts[entry.name] = value.clone()
    _check_finite(parts, path, spec)
    return parts


def _holds_meta(module: nn.Module) -> bool:
    """Whether any tensor of the module (parameter, buffer or plain attribute) is still on the meta device."""
    attributes = (value for sub in module.modules() for value in vars(sub).values() if isinstance(value, torch.Tensor))
    return any(tensor.is_meta for tensor in chain(module.parameters(), module.buffers(), attributes))


def build_module(entry: ModuleEntry, state: Mapping[str, torch.Tensor], device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> nn.Module:
    """Construct the network, load the checked state strictly, cast floating tensors, set eval mode.

    The network is built on the meta device and adopts the state's tensors, so its weights are never
    allocated twice. A network that makes tensors of its own in `__init__` (constants that are not in
    the checkpoint) is built normally instead, since the meta device cannot hold their values.
    """
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    with torch.device("meta"):
        module = entry.build()
    module.load_state_dict(state, strict=True, assign=True)
    if _holds_meta(module):
        module = entry.build()
        module.load_state_dict(state, strict=True)
    return module.to(device=device, dtype=dtype).eval().requires_grad_(False)


def expected_layout(layout: Layout) -> Any:
    """Nested {key: shape} that a file with this layout holds (module entries expanded, prefixes applied)."""
    if isinstance(layout, ModuleEntry):
        return {layout.prefix + k: tuple(s) for k, s in _expected_state(layout).items()}
    if isinstance(layout, TensorEntry):
        return layout.shapes[0]
    if isinstance(layout, list):
        merged: dict = {}
        for entry in layout:
            merged.update(expected_layout(entry))
        return merged
    return {k: expected_layout(v) for k, v in layout.items()}


def validated_prefixed_parts(path: str | Path, spec: OfficialFile) -> dict[str, dict[str, torch.Tensor]]:
    """Read only the keys of a safetensors file that start with the layout's module prefixes, checked strictly.

    For files that hold more networks than we use (SadTalker's combined safetensors): keys with other
    prefixes are neither read nor reported; missing, extra or mis-shaped keys under ours are.
    """
    path = Path(path)
    entries = spec.layout if isinstance(spec.layout, list) else [spec.layout]
    check_readable_file(path, spec.filename, _where(spec), _download_again(spec))
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            flat = {k: handle.get_tensor(k) for k in handle.keys() if k.startswith(tuple(e.prefix for e in entries))}
    except Exception as error:
        raise unreadable(path, spec.filename, _download_again(spec), error, "a safetensors file") from error
    parts = {entry.name: _module_state(entry, flat, (), path, spec, "") for entry in entries}
    _check_finite(parts, path, spec)
    return parts


def verify_file(path: str | Path, spec: OfficialFile) -> None:
    """Raise CheckpointError unless `path` holds what the official file holds (prefixed layouts: our keys only)."""
    if isinstance(spec.layout, list):
        validated_prefixed_parts(path, spec)
    else:
        validated_parts(path, spec)
