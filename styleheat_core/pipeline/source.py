"""An inverted source portrait plus the W+ edits scheduled over the frames of a video.

Official attribute editing re-decodes the edited W+ code with the source's HFGI residual
(`HFGI.edit`), and ramps the edit strength over the video. `SourceLatent.at_frames` does the
same per frame, lazily, so that an edited 1000-frame video never holds 1000 feature maps.
An edit whose scheduled strength is 0 at a frame is skipped there; frames where every edit is
skipped see the source inversion itself, as the first batch of the official ramp does.
Only encoder inversions can be edited: an optimisation inversion has no residual to re-decode
with (the official code forbids that combination too).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import torch

from ..editing.schedule import StrengthSchedule
from ..models.stylegan2 import Generator
from .handles import ModelHandle
from .inversion import EncodedInversion, EncoderNetworks, Inversion, decode_with_residual, stack_inversions

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
    """What flows through STYLEHEAT_LATENT sockets: the inversion, the networks that re-decode edits, and the edits.

    `generator` and `encoders` produced `inversion`; they are needed only when edits are applied.
    Values are never mutated: every edit returns a new object.
    """

    inversion: Inversion
    generator: ModelHandle[Generator]
    encoders: ModelHandle[EncoderNetworks] | None
    edits: tuple[ScheduledEdit, ...] = field(default=())

    def with_edit(self, edit: ScheduledEdit) -> "SourceLatent":
        if not self.inversion.editable or self.encoders is None:
            raise ValueError(
                "W+ edits need an encoder inversion: this portrait was refined by optimisation (Invert's refine_steps > 0), "
                "whose refined 64x64 feature cannot follow an edited code (the official attribute editing forbids it too). "
                "Set refine_steps to 0 on Invert to edit attributes."
            )
        return replace(self, edits=self.edits + (edit,))

    def models(self) -> tuple[ModelHandle, ...]:
        """The networks `at_frames` runs: none without edits."""
        return (self.generator, self.encoders) if self.edits else ()

    def edited_w_plus(self, frame: int, num_frames: int) -> torch.Tensor:
        w_plus = self.inversion.w_plus
        for edit in self.edits:
            strength = edit.strength_at(frame, num_frames)
            if strength != 0:
                w_plus = edit.apply(w_plus, strength)
        return w_plus

    @torch.no_grad()
    def at_frames(self, frames: Sequence[int], num_frames: int) -> Inversion:
        """The source as seen by a batch of frames: batch 1 when no edit is active there, else re-decoded per distinct strength."""
        keys = [tuple(edit.strength_at(frame, num_frames) for edit in self.edits) for frame in frames]
        if not any(strength != 0 for key in keys for strength in key):
            return self.inversion
        decoded: dict[tuple[float, ...], Inversion] = {}
        for frame, key in zip(frames, keys):
            if key not in decoded:
                active = any(strength != 0 for strength in key)
                decoded[key] = self._decode(self.edited_w_plus(frame, num_frames)) if active else self.inversion
        return stack_inversions([decoded[key] for key in keys])

    def _decode(self, w_plus: torch.Tensor) -> EncodedInversion:
        generator, encoders = self.generator.module, self.encoders.module
        return decode_with_residual(generator, encoders, w_plus, residual=self.inversion.residual)
