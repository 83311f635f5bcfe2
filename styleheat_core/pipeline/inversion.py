"""Encoder-based inversion of a source portrait (e4e + HFGI), computed once per source.

Follows the official `HFGI.inverse`: e4e gives W+, StyleGAN renders it, the residual between the
source and that rendering is aligned and encoded into a (scale, shift) modulation of the 64x64
feature. The result carries everything the per-frame path needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..models.e4e import add_latent_avg
from ..models.stylegan2 import Generator

ENCODER_SIZE = 256


@dataclass
class Inversion:
    """A source portrait in StyleGAN terms.

    w_plus (B,18,512); feature (B,512,64,64) = the modulated 64x64 feature `fx`; condition = HFGI
    (scale, shift) or None after optimisation inversion; image256 (B,3,256,256) = the clamped
    reconstruction the warper sees; residual (B,3,256,256) = source minus e4e rendering, kept so
    that edited codes can be decoded with the source's details, as the official editing does.
    """

    w_plus: torch.Tensor
    feature: torch.Tensor
    condition: tuple[torch.Tensor, torch.Tensor] | None
    image256: torch.Tensor
    residual: torch.Tensor

    def expand(self, batch: int) -> "Inversion":
        """The same source repeated to a batch of frames (views, no copies)."""

        def rep(t: torch.Tensor) -> torch.Tensor:
            return t.expand(batch, *t.shape[1:])

        return self.map(rep)

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "Inversion":
        """The same source on another device / in another float dtype."""
        return self.map(lambda t: t.to(device=device, dtype=dtype))

    def map(self, fn) -> "Inversion":
        """Apply `fn` to every tensor."""
        condition = None if self.condition is None else (fn(self.condition[0]), fn(self.condition[1]))
        return Inversion(fn(self.w_plus), fn(self.feature), condition, fn(self.image256), fn(self.residual))


@dataclass
class EncoderNetworks:
    """Encoder_e4e.pth + hfgi.pth: e4e, its latent_avg, and HFGI's residual aligner and encoder."""

    e4e: nn.Module
    latent_avg: torch.Tensor
    aligner: nn.Module
    residual_encoder: nn.Module

    def with_generator(self, generator: Generator) -> "InversionNetworks":
        return InversionNetworks(generator, self.e4e, self.latent_avg, self.aligner, self.residual_encoder)


@dataclass
class InversionNetworks:
    """The networks of the encode inversion (Encoder_e4e.pth + hfgi.pth) and the generator."""

    generator: Generator
    e4e: nn.Module
    latent_avg: torch.Tensor
    aligner: nn.Module
    residual_encoder: nn.Module


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize without antialiasing (align_corners=False), as every official resize."""
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def render_for_encoder(generator: Generator, w_plus: torch.Tensor, condition=None) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleGAN rendering clamped to [-1, 1] and resized to 256, plus the recorded 64x64 feature."""
    out = generator(w_plus, inversion_condition=condition)
    return resize(out.image.clamp(-1.0, 1.0), ENCODER_SIZE), out.f_latent


def decode_with_residual(nets: InversionNetworks, w_plus: torch.Tensor, image256: torch.Tensor, residual: torch.Tensor) -> Inversion:
    """HFGI decode: align the residual to `image256`, encode it into (scale, shift), re-render."""
    aligned = nets.aligner(torch.cat((residual, image256), dim=1))
    condition = tuple(nets.residual_encoder(aligned))
    reconstruction, feature = render_for_encoder(nets.generator, w_plus, condition)
    return Inversion(w_plus, feature, condition, reconstruction, residual)


@torch.no_grad()
def invert(nets: InversionNetworks, source: torch.Tensor) -> Inversion:
    """Encode a source (B,3,H,W) in [-1,1] (FFHQ-aligned, any size) into an `Inversion`."""
    if source.dim() != 4 or source.shape[1] != 3:
        raise ValueError(f"source must be a (B, 3, H, W) image tensor in [-1, 1]; got shape {tuple(source.shape)}")
    x256 = resize(source, ENCODER_SIZE)
    w_plus = add_latent_avg(nets.e4e(x256), nets.latent_avg)
    e4e_image, _ = render_for_encoder(nets.generator, w_plus)
    return decode_with_residual(nets, w_plus, e4e_image, x256 - e4e_image)
