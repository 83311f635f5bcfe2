"""An inverted source portrait plus the W+ edits scheduled over the frames of a video.

Official attribute editing re-decodes the edited W+ code with the source's HFGI residual
(`HFGI.edit`), and ramps the edit strength over the video. `SourceLatent.at_frames` does the
same per frame, lazily, so that an edited 1000-frame video never holds 1000 feature maps.
An edit whose scheduled strength is 0 at a frame is skipped there; frames where every edit is
skipped see the source inversion itself, as the first batch of the official ramp does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import torch

from ..editing.schedule import StrengthSchedule
from .inversion import Inversion, InversionNetworks, decode_with_residual, render_for_encoder

# (w_plus (B,18,512), strength) -> edited w_plus
WPlusEdit = Callable[[torch.Tensor, float], torch.Tensor]


@dataclass(frozen=True)
class ScheduledEdit:
    """One W+ edit: `apply(w, strength)`, its strength spread over the frames by `schedule`."""

    name: str
    apply: WPlusEdit
    strength: float
    schedule: StrengthSchedule = field(default_factory=StrengthSchedule)

    def strength_at(self, frame: int, num_frames: int) -> float:
        return self.schedule.value(frame, num_frames, self.strength)


@dataclass(frozen=True)
class SourceLatent:
    """What flows through STYLEHEAT_LATENT sockets: the inversion and the edits to apply to it.

    `networks` are the inversion networks that produced `inversion`; they re-decode edited codes
    with the source residual. Values are never mutated: every edit returns a new object.
    """

    inversion: Inversion
    networks: InversionNetworks | None
    edits: tuple[ScheduledEdit, ...] = field(default=())

    def with_edit(self, edit: ScheduledEdit) -> "SourceLatent":
        if self.networks is None:
            raise ValueError("this latent was not produced by StyleHEAT Invert (encode), so W+ edits cannot be re-decoded")
        return replace(self, edits=self.edits + (edit,))

    def edited_w_plus(self, frame: int, num_frames: int) -> torch.Tensor:
        w_plus = self.inversion.w_plus
        for edit in self.edits:
            strength = edit.strength_at(frame, num_frames)
            if strength != 0:
                w_plus = edit.apply(w_plus, strength)
        return w_plus

    @torch.no_grad()
    def at_frames(self, frames: Sequence[int], num_frames: int) -> Inversion:
        """The source as seen by a batch of frames: unchanged where no edit is active, else re-decoded per distinct strength."""
        if not self.edits:
            return self.inversion.expand(len(frames))
        decoded: dict[tuple[float, ...], Inversion] = {}
        per_frame = []
        for frame in frames:
            key = tuple(edit.strength_at(frame, num_frames) for edit in self.edits)
            if key not in decoded:
                active = any(strength != 0 for strength in key)
                decoded[key] = self._decode(self.edited_w_plus(frame, num_frames)) if active else self.inversion
            per_frame.append(decoded[key])
        return _stack(per_frame)

    def _decode(self, w_plus: torch.Tensor) -> Inversion:
        nets = self.networks
        image256, _ = render_for_encoder(nets.generator, w_plus)
        return decode_with_residual(nets, w_plus, image256, self.inversion.residual)


def _stack(items: list[Inversion]) -> Inversion:
    def cat(get: Callable[[Inversion], torch.Tensor]) -> torch.Tensor:
        return torch.cat([get(item) for item in items])

    condition = None
    if all(item.condition is not None for item in items):
        condition = (cat(lambda i: i.condition[0]), cat(lambda i: i.condition[1]))
    return Inversion(cat(lambda i: i.w_plus), cat(lambda i: i.feature), condition, cat(lambda i: i.image256), cat(lambda i: i.residual))
