"""The few ComfyUI services the nodes use (model and input folders, device, progress, cancel), with plain fallbacks.

Inside ComfyUI these come from folder_paths / comfy.model_management / comfy.utils; outside it
(unit tests, scripts) the model folder is $STYLEHEAT_MODELS_DIR or ./models/styleheat, the input
folder $STYLEHEAT_INPUT_DIR or ./input, the device is the CPU, progress is silent and nothing cancels.

Containment: a file name that a workflow sets is a path relative to one of those folders. Absolute
paths, drives and '..' components are refused before the disk is touched, with one message whatever
the name points at, so a workflow cannot read, or learn about, files elsewhere. The path is judged as
written, not by where a link leads: links that the owner of the machine placed inside a folder keep
working, as in ComfyUI itself (whoever can create a link there can as well put any file there).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import torch

from ..styleheat_core.io.layouts import MODEL_FOLDER, OfficialFile, identify, official_file
from ..styleheat_core.pipeline.handles import ModelHandle, unique_handles
from ..styleheat_core.render.models import chosen_dtype

FOLDER_NAME = "styleheat"
CHECKPOINT_EXTENSIONS = {".pth", ".pt", ".safetensors", ".npz", ".mat", ".tar"}
PRECISIONS = ["auto", "fp32", "fp16", "bf16"]

try:
    import comfy.utils as comfy_utils
    import folder_paths
    from comfy import model_management
except ImportError:
    folder_paths = model_management = comfy_utils = None


def register_model_folder() -> None:
    """Add models/styleheat to ComfyUI's folders, keeping paths that extra_model_paths.yaml already gave."""
    if folder_paths is None:
        return
    default = os.path.join(folder_paths.models_dir, FOLDER_NAME)
    known = folder_paths.folder_names_and_paths.get(FOLDER_NAME)
    if known is None:
        folder_paths.folder_names_and_paths[FOLDER_NAME] = ([default], set(CHECKPOINT_EXTENSIONS))
        return
    paths, extensions = known
    if default not in paths:
        paths.append(default)
    if extensions:
        extensions.update(CHECKPOINT_EXTENSIONS)


def model_folders() -> list[Path]:
    """Every folder searched for StyleHEAT checkpoints, in priority order."""
    if folder_paths is not None:
        return [Path(p) for p in folder_paths.get_folder_paths(FOLDER_NAME)]
    return [Path(os.environ.get("STYLEHEAT_MODELS_DIR", MODEL_FOLDER))]


def available_files() -> list[str]:
    """Checkpoint files (relative names) found in the model folders."""
    if folder_paths is not None:
        return sorted(folder_paths.get_filename_list(FOLDER_NAME))
    found = set()
    for folder in model_folders():
        if folder.is_dir():
            found.update(str(p.relative_to(folder)).replace(os.sep, "/") for p in folder.rglob("*") if p.suffix in CHECKPOINT_EXTENSIONS)
    return sorted(found)


def choices(key: str) -> list[str]:
    """Combo entries for the official file `key`: the files that are it (or its .safetensors twin), the official name first."""
    spec = official_file(key)
    matching = [name for name in available_files() if (found := identify(name)) is not None and found.key == key]
    return [spec.filename] + [name for name in matching if name != spec.filename]


def contained_name(name: str, folder_kind: str) -> PurePosixPath:
    """`name` as a path relative to a folder; ValueError for an absolute path, a drive or a '..' component.

    The check is on the text alone, so the message is the same whether or not such a file exists.
    """
    parts = PureWindowsPath(name).parts  # splits on '/' and '\\', and sees drives and roots of both systems
    if not name.strip() or "\0" in name or PurePosixPath(name).is_absolute() or PureWindowsPath(name).anchor or ".." in parts:
        raise ValueError(
            f"'{name}' is not a file name inside the {folder_kind}: give the name relative to that folder "
            "(as its menu lists it), without an absolute path or '..'; put the file into the folder first"
        )
    return PurePosixPath(*parts)


def find(name: str) -> Path | None:
    """The first model folder's file of that relative name, if any; refuses names that leave the folders."""
    relative = contained_name(name, f"StyleHEAT model folders ({', '.join(map(str, model_folders()))})")
    for folder in model_folders():
        candidate = folder / relative
        if candidate.is_file():
            return candidate
    return None


def resolve(name: str, key: str) -> Path:
    """Full path of a chosen checkpoint, or an error that says where to put which file and where it comes from."""
    found = find(name)
    if found is not None:
        return found
    spec: OfficialFile = official_file(key)
    searched = ", ".join(str(f) for f in model_folders())
    raise FileNotFoundError(
        f"StyleHEAT checkpoint '{name}' ({spec.what}) not found. Put the official {spec.filename} into "
        f"ComfyUI/{MODEL_FOLDER}/ (searched: {searched}); it comes from {spec.source}. "
        f"`python -m styleheat_core.download` fetches every missing file."
    )


def input_folder() -> Path:
    """ComfyUI's input folder (uploads), else $STYLEHEAT_INPUT_DIR or ./input."""
    if folder_paths is not None:
        return Path(folder_paths.get_input_directory())
    return Path(os.environ.get("STYLEHEAT_INPUT_DIR", "input"))


def input_file(name: str) -> Path:
    """The input folder's file of that relative name; refuses names that leave the folder, says when it is missing."""
    folder = input_folder()
    path = folder / contained_name(name, f"input folder ({folder})")
    if not path.is_file():
        raise FileNotFoundError(f"'{name}' is not in the input folder {folder}: upload it there, or pick a file from the list")
    return path


def device() -> torch.device:
    return model_management.get_torch_device() if model_management is not None else torch.device("cpu")


def offload_device() -> torch.device:
    """Where loaders put weights first; ComfyUI moves them to `device()` when a node needs them."""
    return model_management.unet_offload_device() if model_management is not None else torch.device("cpu")


def dtype_for(precision: str, target: torch.device) -> torch.dtype:
    """auto = fp16 where ComfyUI says the device runs it well, else fp32."""
    if precision == "auto":
        use_fp16 = model_management is not None and target.type != "cpu" and model_management.should_use_fp16(target)
        return torch.float16 if use_fp16 else torch.float32
    return chosen_dtype(precision, target)


def check_interrupted() -> None:
    """Raise ComfyUI's interrupt exception when the user pressed Cancel."""
    if model_management is not None:
        model_management.throw_exception_if_processing_interrupted()


def interrupt_requested() -> bool:
    """Whether Cancel was pressed, without clearing it (`check_interrupted` raises on it afterwards)."""
    return model_management is not None and model_management.processing_interrupted()


def progress(total: int, node_id: str | None = None) -> Callable[[int, int], None]:
    """A callback (done, total) that moves the node's progress bar and honours Cancel."""
    bar = comfy_utils.ProgressBar(total, node_id=node_id) if comfy_utils is not None else None

    def update(done: int, total_now: int) -> None:
        check_interrupted()
        if bar is not None:
            bar.update_absolute(done, total_now)

    return update


@dataclass(frozen=True, eq=False)
class ManagedModel:
    """A network handed between nodes (a `ModelHandle`): inside ComfyUI it is registered with a ModelPatcher,
    so ComfyUI loads it onto the compute device when a node needs it and offloads it when memory is needed."""

    module: torch.nn.Module
    patcher: object | None = None

    @classmethod
    def wrap(cls, module: torch.nn.Module) -> ManagedModel:
        if model_management is None:
            return cls(module)
        from comfy.model_patcher import ModelPatcher

        return cls(module, ModelPatcher(module, load_device=device(), offload_device=model_management.unet_offload_device()))


def load_together(handles: Iterable[ModelHandle]) -> None:
    """Load every network a node needs in one ComfyUI call, so loading one never offloads another."""
    patchers = [h.patcher for h in unique_handles(handles) if isinstance(h, ManagedModel) and h.patcher is not None]
    if patchers:
        model_management.load_models_gpu(patchers)


def ready(*handles: ModelHandle) -> tuple[torch.nn.Module, ...]:
    """The handles' networks, loaded together onto the compute device."""
    load_together(handles)
    return tuple(h.module for h in handles)
