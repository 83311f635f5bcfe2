"""Stand-in weights: deterministic files in the official layout, to try every workflow and CLI without the official files.

`python -m styleheat_core.download --stand-in DIR` writes them. Networks are freshly initialised
with a fixed seed per file (the same bytes on every run), tensors are seeded values of the right
shape and kind (unit-norm directions, PCA components with positive deviations, a face-shaped set of
3D landmarks), so every loader accepts them and every graph runs. They carry no learned
knowledge: **faces come out as noise**. `stand_in.json` in the folder lists them (with their
sha256) so that the downloader recognises them and says so instead of taking them for the
official files.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch

from .atomic import atomic_open, atomic_write_text
from .checkpoints import verify_file
from .layouts import OFFICIAL_FILES, Layout, ModuleEntry, OfficialFile, TensorEntry

STAND_IN_MANIFEST = "stand_in.json"
NOTE = "Stand-in weights written by `python -m styleheat_core.download --stand-in`: seeded random networks, faces come out as noise."
# A zip entry's date must be fixed for the same bytes on every run (zipfile would stamp the current time).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAT_HEADER_SIZE = 116


def seed_of(key: str) -> int:
    """The fixed seed of one official file's stand-in."""
    return zlib.crc32(f"styleheat-stand-in:{key}".encode())


def _unit_rows(rng: np.random.Generator, rows: int, columns: int) -> np.ndarray:
    values = rng.standard_normal((rows, columns))
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def face_landmarks_68() -> np.ndarray:
    """A face-shaped set of the 68 iBUG landmarks in 3D (BFM-like units, y up): jaw, brows, nose, eyes, mouth."""

    def arc(count: int, centre: tuple[float, float], radii: tuple[float, float], start: float, stop: float, depth: float) -> np.ndarray:
        angles = np.linspace(start, stop, count)
        x, y = centre[0] + radii[0] * np.cos(angles), centre[1] + radii[1] * np.sin(angles)
        return np.stack([x, y, depth - 0.3 * np.abs(x)], axis=1)

    def ring(count: int, centre: tuple[float, float], radii: tuple[float, float], depth: float) -> np.ndarray:
        return arc(count + 1, centre, radii, np.pi, -np.pi, depth)[:count]

    nose_bridge = np.stack([np.zeros(4), np.linspace(0.28, -0.05, 4), np.linspace(0.35, 0.55, 4)], axis=1)
    nose_base = np.stack([np.linspace(-0.15, 0.15, 5), np.full(5, -0.15), np.full(5, 0.42)], axis=1)
    points = np.concatenate(
        [
            arc(17, (0.0, 0.3), (0.7, 1.1), np.pi, 2 * np.pi, 0.0),  # jaw, ear to ear through the chin
            arc(5, (-0.31, 0.38), (0.2, 0.1), np.pi, 0.0, 0.15),  # left brow
            arc(5, (0.31, 0.38), (0.2, 0.1), np.pi, 0.0, 0.15),  # right brow
            nose_bridge,
            nose_base,
            ring(6, (-0.31, 0.29), (0.145, 0.04), 0.1),  # left eye, from its outer corner
            ring(6, (0.31, 0.29), (0.145, 0.04), 0.1),  # right eye
            ring(12, (0.0, -0.38), (0.26, 0.1), 0.22),  # outer lips, from the left corner
            ring(8, (0.0, -0.38), (0.18, 0.04), 0.22),  # inner lips
        ]
    )
    return points.astype(np.float64)


def _tensor(key: str, entry: TensorEntry, rng: np.random.Generator) -> torch.Tensor:
    """A seeded tensor of the entry's first accepted shape, with the kind of values the file holds."""
    shape = [80 if size == -1 else size for size in entry.shapes[0]]
    count = int(np.prod(shape))
    if entry.name == "lm":
        values = face_landmarks_68()
    elif entry.name in ("direction",):
        values = _unit_rows(rng, 1, count)
    elif entry.name in ("comp", "X_comp"):
        values = _unit_rows(rng, shape[0], count // shape[0])
    elif entry.name in ("std", "X_stdev"):
        values = np.linspace(3.0, 0.5, count)
    elif entry.name.startswith("expression_"):
        values = 0.3 * rng.standard_normal(count)
    else:  # latent_avg, PCA means
        values = 0.1 * rng.standard_normal(count)
    return torch.from_numpy(values.reshape(shape).astype(np.float64 if entry.name == "lm" else np.float32))


def _fill(key: str, layout: Layout, rng: np.random.Generator) -> Any:
    if isinstance(layout, ModuleEntry):
        return {layout.prefix + name: value for name, value in layout.build().state_dict().items()}
    if isinstance(layout, TensorEntry):
        return _tensor(key, layout, rng)
    if isinstance(layout, list):
        merged: dict = {}
        for entry in layout:
            merged.update(_fill(key, entry, rng))
        return merged
    return {name: _fill(key, sub, rng) for name, sub in layout.items()}


def stand_in_container(spec: OfficialFile) -> Any:
    """The official container of `spec`, filled deterministically (networks: their own initialisation under a fixed seed)."""
    seed = seed_of(spec.key)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _fill(spec.key, spec.layout, np.random.default_rng(seed))


def _npz_bytes(arrays: Mapping[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            entry = io.BytesIO()
            np.lib.format.write_array(entry, value.numpy(), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE), entry.getvalue())
    return buffer.getvalue()


def _mat_bytes(arrays: Mapping[str, torch.Tensor]) -> bytes:
    from scipy.io import savemat

    buffer = io.BytesIO()
    savemat(buffer, {name: value.double().numpy() for name, value in arrays.items()})
    data = bytearray(buffer.getvalue())
    data[:MAT_HEADER_SIZE] = b"MATLAB 5.0 MAT-file, written by styleheat_core".ljust(MAT_HEADER_SIZE)  # scipy stamps the time here
    return bytes(data)


def write_official_file(spec: OfficialFile, folder: Path, container: Any) -> Path:
    """Write `container` where the official file lives under `folder`, in the file's own format, atomically and reproducibly."""
    path = Path(folder) / spec.filename
    with atomic_open(path) as handle:
        if path.suffix == ".safetensors":
            from safetensors.torch import save

            handle.write(save({name: value.contiguous() for name, value in container.items()}))
        elif path.suffix == ".npz":
            handle.write(_npz_bytes(container))
        elif path.suffix == ".mat":
            handle.write(_mat_bytes(container))
        else:
            torch.save(container, handle)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_stand_ins(folder: Path) -> dict[str, str]:
    """{filename: sha256} of the stand-ins written into `folder` (empty when there are none)."""
    manifest = Path(folder) / STAND_IN_MANIFEST
    if not manifest.is_file():
        return {}
    return dict(json.loads(manifest.read_text(encoding="utf-8")).get("files", {}))


def is_stand_in(path: Path, folder: Path, filename: str) -> bool:
    """Whether `path` is still the stand-in that was written as `filename` into `folder`."""
    recorded = recorded_stand_ins(folder).get(filename)
    return recorded is not None and sha256_of(path) == recorded


def write_stand_ins(folder: Path, keys: list[str], out: TextIO) -> None:
    """Write the stand-in of each official file `keys` names into `folder` (checked by the strict loaders), never over an existing file."""
    folder = Path(folder)
    recorded = recorded_stand_ins(folder)
    out.write(f"Writing stand-in weights into {folder}. {NOTE}\n")
    for key in keys:
        spec = OFFICIAL_FILES[key]
        target = folder / spec.filename
        if target.exists():
            kind = "a stand-in" if is_stand_in(target, folder, spec.filename) else "a file that is not a stand-in"
            out.write(f"kept     {spec.filename} ({kind} is already there; left untouched)\n")
            continue
        path = write_official_file(spec, folder, stand_in_container(spec))
        verify_file(path, spec)
        recorded[spec.filename] = sha256_of(path)
        atomic_write_text(folder / STAND_IN_MANIFEST, json.dumps({"note": NOTE, "files": dict(sorted(recorded.items()))}, indent=1) + "\n")
        out.write(f"written  {spec.filename} (stand-in, verified)\n")
