"""Inversion of a source portrait into StyleGAN2 terms, computed once per source.

Two kinds exist, as officially: the encoder inversion (`HFGI.inverse`: e4e gives W+, StyleGAN renders
it, the residual between the source and that rendering is aligned and encoded into a (scale, shift)
modulation of the 64x64 feature) and the optimisation inversion (W+ rows and the feature optimised
directly; no modulation, and no residual to re-decode edits with). They are separate types, so code
that needs one kind cannot silently receive the other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Callable, ClassVar, Sequence, TypeVar, Union

import torch
from torch import nn

from ..models.e4e import add_latent_avg
from ..models.modulation import FeatureModulation
from ..models.ops import resize
from ..models.stylegan2 import BelowFeature, Generator
from .handles import module_input

ENCODER_SIZE = 256
T = TypeVar("T", bound="_InversionTensors")


class _InversionTensors:
    """Batch operations shared by both inversion kinds: every field is a tensor or a FeatureModulation."""

    editable: ClassVar[bool]

    def map(self: T, fn: Callable[[torch.Tensor], torch.Tensor]) -> T:
        """Apply `fn` to every tensor."""
        values = {}
        for field in fields(self):
            value = getattr(self, field.name)
            values[field.name] = fn(value) if isinstance(value, torch.Tensor) else value.map(fn)
        return replace(self, **values)

    def expand(self: T, batch: int) -> T:
        """The same source repeated to a batch of frames (views, no copies)."""
        return self.map(lambda t: t.expand(batch, *t.shape[1:]))

    def to(self: T, device: torch.device | str, dtype: torch.dtype | None = None) -> T:
        """The same source on another device / in another float dtype."""
        return self.map(lambda t: t.to(device=device, dtype=dtype))

    @property
    def batch(self) -> int:
        return int(self.w_plus.shape[0])


@dataclass(frozen=True)
class EncodedInversion(_InversionTensors):
    """e4e + HFGI result: w_plus (B,18,512); feature (B,512,64,64), the HFGI-modulated 64x64 feature `fx`;
    condition, the HFGI (scale, shift); image256 (B,3,256,256), the clamped reconstruction the warper sees;
    residual (B,3,256,256), source minus e4e rendering, kept to re-decode edited codes with the source's
    details, as the official editing does."""

    w_plus: torch.Tensor
    feature: torch.Tensor
    condition: FeatureModulation
    image256: torch.Tensor
    residual: torch.Tensor
    editable: ClassVar[bool] = True


@dataclass(frozen=True)
class OptimizedInversion(_InversionTensors):
    """Optimisation inversion result: optimised W+ and 64x64 feature, and the 256² rendering the warper sees.

    It has no HFGI condition (`condition` is None, as official) and no residual, so W+ edits cannot be
    re-decoded from it (the official attribute editing forbids it too)."""

    w_plus: torch.Tensor
    feature: torch.Tensor
    image256: torch.Tensor
    condition: ClassVar[None] = None
    editable: ClassVar[bool] = False


Inversion = Union[EncodedInversion, OptimizedInversion]


def stack_inversions(items: Sequence[Inversion]) -> Inversion:
    """One batch from several inversions of the same kind (frames of one source, edited differently)."""
    kinds = {type(item) for item in items}
    if len(kinds) != 1:
        raise ValueError(f"cannot batch inversions of different kinds together: {sorted(k.__name__ for k in kinds)}")
    first = items[0]
    values = {}
    for field in fields(first):
        parts = [getattr(item, field.name) for item in items]
        if isinstance(parts[0], torch.Tensor):
            values[field.name] = torch.cat(parts)
        else:
            values[field.name] = FeatureModulation(torch.cat([p.scale for p in parts]), torch.cat([p.shift for p in parts]))
    return replace(first, **values)


class EncoderNetworks(nn.Module):
    """Encoder_e4e.pth + hfgi.pth: e4e and its `latent_avg`, HFGI's residual aligner and residual encoder.

    `e4e` is None in the residual-only form (`residual_only()`): enough to decode W+ edits, which
    never encode again, without e4e's 1 GiB of weights.
    """

    def __init__(self, e4e: nn.Module | None, latent_avg: torch.Tensor, aligner: nn.Module, residual_encoder: nn.Module):
        super().__init__()
        self.e4e = e4e
        self.aligner = aligner
        self.residual_encoder = residual_encoder
        self.register_buffer("latent_avg", latent_avg)

    def encode(self, image256: torch.Tensor) -> torch.Tensor:
        """W+ codes (B,18,512) of 256² images in [-1, 1]."""
        if self.e4e is None:
            raise ValueError("these encoder networks hold only HFGI's residual networks (e4e was released after the inversion); load Encoder_e4e.pth again to encode")
        return add_latent_avg(self.e4e(module_input(self, image256)), self.latent_avg)

    def residual_only(self) -> "EncoderNetworks":
        """The same HFGI networks without e4e, so that e4e can be freed once the W+ code exists."""
        return EncoderNetworks(None, self.latent_avg, self.aligner, self.residual_encoder)

    def condition(self, residual: torch.Tensor, image256: torch.Tensor) -> FeatureModulation:
        """HFGI: align the residual to the rendering, encode it into the 64x64 (scale, shift)."""
        aligned = self.aligner(torch.cat((module_input(self, residual), module_input(self, image256)), dim=1))
        return FeatureModulation(*self.residual_encoder(aligned))


def render_for_encoder(
    generator: Generator, w_plus: torch.Tensor, condition: FeatureModulation | None = None, below: BelowFeature | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleGAN rendering clamped to [-1, 1] and resized to 256, plus the recorded 64x64 feature."""
    w_plus = module_input(generator, w_plus)
    condition = None if condition is None else condition.to(w_plus)
    out = generator(w_plus, inversion_condition=condition, output_size=ENCODER_SIZE, clamp=True, below=below)
    return out.image, out.f_latent


def decode_with_residual(
    generator: Generator, encoders: EncoderNetworks, w_plus: torch.Tensor, residual: torch.Tensor | None = None, source256: torch.Tensor | None = None
) -> EncodedInversion:
    """HFGI decode of a W+ code: render it, take the `residual` (given, or the 256² `source256` minus that
    rendering), align and encode it into the condition, re-render with it. Both renderings share the layers
    below the 64x64 feature, where the condition does not reach."""
    if (residual is None) == (source256 is None):
        raise ValueError("decode_with_residual needs exactly one of 'residual' and 'source256'")
    w_plus = module_input(generator, w_plus)
    below = generator.below_feature(w_plus)
    image256, _ = render_for_encoder(generator, w_plus, below=below)
    residual = module_input(generator, source256) - image256 if residual is None else residual
    condition = encoders.condition(residual, image256)
    reconstruction, feature = render_for_encoder(generator, w_plus, condition, below)
    return EncodedInversion(w_plus, feature, condition.to(feature), reconstruction, residual)


def encoder_input(module: nn.Module, source: torch.Tensor) -> torch.Tensor:
    """A source (B,3,H,W) in [-1,1] (FFHQ-aligned, any size) as the encoders take it: 256², on `module`'s device and dtype."""
    if source.dim() != 4 or source.shape[1] != 3:
        raise ValueError(f"source must be a (B, 3, H, W) image tensor in [-1, 1]; got shape {tuple(source.shape)}")
    return resize(module_input(module, source), ENCODER_SIZE)


@torch.no_grad()
def invert_code(generator: Generator, encoders: EncoderNetworks, image256: torch.Tensor, w_plus: torch.Tensor) -> EncodedInversion:
    """The HFGI half of the inversion: the e4e code `w_plus` of the 256² source `image256`, rendered, its residual encoded."""
    return decode_with_residual(generator, encoders, w_plus, source256=image256)


@torch.no_grad()
def invert(generator: Generator, encoders: EncoderNetworks, source: torch.Tensor) -> EncodedInversion:
    """Encode a source (B,3,H,W) in [-1,1] (FFHQ-aligned, any size) into an `EncodedInversion` (in the generator's dtype)."""
    image256 = encoder_input(generator, source)
    return invert_code(generator, encoders, image256, encoders.encode(image256))
