"""Global attribute edits of W+ codes: InterFaceGAN directions, GANSpace components (official semantics), portrait differences.

InterFaceGAN adds `factor * direction` to every W+ row. GANSpace sets an absolute coordinate: the
current coordinate along a PCA component is measured on row 0, and rows start..end-1 are moved
so that this coordinate becomes `strength`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch


@dataclass(frozen=True)
class GanspacePCA:
    """GANSpace PCA of W (ffhq_pca.pt): mean (1,512), comp (K,1,512), std (K,)."""

    mean: torch.Tensor
    comp: torch.Tensor
    std: torch.Tensor


@dataclass(frozen=True)
class GanspaceEdit:
    """A GANSpace edit preset: PCA component and the W+ rows [start, end) it moves."""

    component: int
    start: int
    end: int


# The user's own W / W+ direction, passed under this name in `interfacegan`.
OWN_DIRECTION = "direction"
# Edit choice -> the InterFaceGAN direction it adds (official: young / old / pose; age names both ways).
INTERFACEGAN_PRESETS = {"young": "age", "old": "age", "age": "age", "pose": "pose", OWN_DIRECTION: OWN_DIRECTION}
GANSPACE_PRESETS = {"beard": GanspaceEdit(58, 7, 9), "lip": GanspaceEdit(34, 10, 11)}


def apply_interfacegan(w_plus: torch.Tensor, direction: torch.Tensor, factor: float) -> torch.Tensor:
    """w + factor * direction: a W direction (512,) / (1, 512) moves every row, a W+ direction (18, 512) each row by its own."""
    return w_plus + factor * direction.to(w_plus).reshape(1, -1, w_plus.shape[-1])


def apply_ganspace(w_plus: torch.Tensor, pca: GanspacePCA, edit: GanspaceEdit, strength: float) -> torch.Tensor:
    """Move rows [start, end) of each sample so that its row-0 coordinate on `component` becomes `strength`."""
    comp = pca.comp[edit.component].to(w_plus).reshape(-1)
    std = pca.std[edit.component].to(w_plus)
    coordinate = ((w_plus[:, 0] - pca.mean.to(w_plus).reshape(1, -1)) * comp).sum(dim=1) / std
    delta = (strength - coordinate)[:, None] * comp[None] * std
    rows = torch.zeros(w_plus.shape[1], dtype=w_plus.dtype, device=w_plus.device)
    rows[edit.start : edit.end] = 1
    return w_plus + rows[None, :, None] * delta[:, None, :]


@dataclass(frozen=True)
class StyleDirections:
    """What global edits read: InterFaceGAN W(+) directions by name ('age', 'pose', or OWN_DIRECTION) and the GANSpace PCA."""

    interfacegan: Mapping[str, torch.Tensor]
    ganspace: GanspacePCA | None = None


def check_edit(choice: str, interfacegan: Mapping[str, torch.Tensor], pca: GanspacePCA | None) -> None:
    """Raise a clear error unless `choice` is a known edit whose direction or PCA is given."""
    if choice in INTERFACEGAN_PRESETS:
        name = INTERFACEGAN_PRESETS[choice]
        if name not in interfacegan:
            raise KeyError(f"edit '{choice}' needs the InterFaceGAN direction '{name}' (interfacegan_directions/{name}.pt)")
    elif choice in GANSPACE_PRESETS:
        if pca is None:
            raise KeyError(f"edit '{choice}' needs the GANSpace PCA file ffhq_pca.pt")
    else:
        raise ValueError(f"unknown edit '{choice}'; choose one of {sorted(INTERFACEGAN_PRESETS) + sorted(GANSPACE_PRESETS)}")


def edit_latent(w_plus: torch.Tensor, choice: str, factor: float, interfacegan: Mapping[str, torch.Tensor], pca: GanspacePCA | None) -> torch.Tensor:
    """The official `edit_style_code`: young/old/age/pose (or OWN_DIRECTION) via InterFaceGAN, beard/lip via GANSpace."""
    check_edit(choice, interfacegan, pca)
    if choice in INTERFACEGAN_PRESETS:
        return apply_interfacegan(w_plus, interfacegan[INTERFACEGAN_PRESETS[choice]], factor)
    return apply_ganspace(w_plus, pca, GANSPACE_PRESETS[choice], factor)


def direction_between(start: torch.Tensor, end: torch.Tensor, per_layer: bool = True) -> torch.Tensor:
    """The mean W+ difference end - start of two inverted portraits: (18, 512), or its layer mean (1, 512).

    Applied with `apply_interfacegan` at strength 1 it moves `start` onto `end` (per layer) or by
    the average of their difference (layer mean); batches are averaged.
    """
    if start.dim() != 3 or start.shape[1:] != end.shape[1:]:
        raise ValueError(f"both portraits need W+ codes of the same (B, layers, 512) shape; got {tuple(start.shape)} and {tuple(end.shape)}")
    difference = end.float().mean(dim=0) - start.float().mean(dim=0)
    return difference if per_layer else difference.mean(dim=0, keepdim=True)
