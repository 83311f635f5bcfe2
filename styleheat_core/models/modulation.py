"""The spatial (scale, shift) modulation of the 64x64 StyleGAN2 feature: HFGI's inversion condition and the calibration.

Both HFGI's residual encoder and StyleHEAT's calibration network produce a pair of maps that modulate
the feature as `x * (1 + scale) + shift`. Naming the pair keeps the contract between the producers
and the generator explicit (the official code passes positional lists).
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class FeatureModulation(NamedTuple):
    """(scale, shift) maps, each (B, C, 64, 64): x -> x * (1 + scale) + shift."""

    scale: torch.Tensor
    shift: torch.Tensor

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1 + self.scale) + self.shift

    def to(self, like: torch.Tensor) -> "FeatureModulation":
        """Both maps on `like`'s device and in its dtype."""
        return FeatureModulation(self.scale.to(like), self.shift.to(like))

    def map(self, fn) -> "FeatureModulation":
        """Apply `fn` to both maps."""
        return FeatureModulation(fn(self.scale), fn(self.shift))
