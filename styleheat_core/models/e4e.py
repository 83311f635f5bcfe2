"""e4e encoder (Encoder4Editing, IR-SE50 + FPN style heads): 256² image -> W+ offsets from latent_avg."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .ir_blocks import Stem, ir_sequence, resnet_ir_specs
from .ops import EqualLinear, conv2d

COARSE_STYLES = 3
MIDDLE_STYLES = 7
# Body indices whose outputs feed the FPN: 64x64 (128 ch), 32x32 (256 ch), 16x16 (512 ch) for a 256 input.
FINE_TAP, MIDDLE_TAP, COARSE_TAP = 6, 20, 23


class GradualStyleBlock(nn.Module):
    """log2(spatial) stride-2 convs with leaky ReLU(0.01) down to 1x1, then an equalised linear layer."""

    def __init__(self, in_c: int, out_c: int, spatial: int):
        super().__init__()
        self.out_c = out_c
        layers: list[nn.Module] = []
        for i in range(int(math.log2(spatial))):
            layers += [nn.Conv2d(in_c if i == 0 else out_c, out_c, kernel_size=3, stride=2, padding=1), nn.LeakyReLU()]
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(out_c, out_c, lr_mul=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, activation in zip(self.convs[::2], self.convs[1::2]):
            x = conv2d(x, conv.weight, conv.bias, stride=2, padding=1, negative_slope=activation.negative_slope)
        return self.linear(x.reshape(-1, self.out_c))


def _upsample_add(coarse: torch.Tensor, lateral: torch.Tensor) -> torch.Tensor:
    return F.interpolate(coarse, size=lateral.shape[-2:], mode="bilinear", align_corners=False).add_(lateral)


class Encoder4Editing(nn.Module):
    """W+ codes (B, n_styles, 512) relative to latent_avg; style 0 is shared and the others add deltas."""

    def __init__(self, num_layers: int = 50, mode: str = "ir_se", stylegan_size: int = 1024):
        super().__init__()
        if mode not in ("ir", "ir_se"):
            raise ValueError(f"e4e mode must be 'ir' or 'ir_se'; got {mode!r}")
        self.input_layer = Stem(3, 64)
        self.body = ir_sequence(resnet_ir_specs(num_layers), squeeze_excite=mode == "ir_se")
        self.style_count = 2 * int(math.log2(stylegan_size)) - 2
        spatial = [16 if i < COARSE_STYLES else 32 if i < MIDDLE_STYLES else 64 for i in range(self.style_count)]
        self.styles = nn.ModuleList(GradualStyleBlock(512, 512, s) for s in spatial)
        self.latlayer1 = nn.Conv2d(256, 512, kernel_size=1, stride=1, padding=0)
        self.latlayer2 = nn.Conv2d(128, 512, kernel_size=1, stride=1, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"e4e input must be a (B, 3, 256, 256) image in [-1, 1]; got {tuple(x.shape)}")
        x = self.input_layer(x)
        for index, block in enumerate(self.body):
            x = block(x)
            if index == FINE_TAP:
                fine = x
            elif index == MIDDLE_TAP:
                middle = x
        coarse = x
        codes = [self.styles[0](coarse)]
        base = codes[0]
        features = coarse
        for i in range(1, self.style_count):
            if i == COARSE_STYLES:
                features = _upsample_add(coarse, conv2d(middle, self.latlayer1.weight, self.latlayer1.bias))
            elif i == MIDDLE_STYLES:
                features = _upsample_add(features, conv2d(fine, self.latlayer2.weight, self.latlayer2.bias))
            codes.append(base + self.styles[i](features))
        return torch.stack(codes, dim=1)


def add_latent_avg(codes: torch.Tensor, latent_avg: torch.Tensor) -> torch.Tensor:
    """codes + latent_avg, accepting latent_avg of shape (512,), (1, 512) or (n_styles, 512) as official."""
    n_styles, dim = codes.shape[1:]
    if latent_avg.shape not in ((dim,), (1, dim), (n_styles, dim)):
        raise ValueError(
            f"latent_avg must have shape ({dim},), (1, {dim}) or ({n_styles}, {dim}); got {tuple(latent_avg.shape)}. "
            "Is Encoder_e4e.pth the e4e checkpoint for a 1024 StyleGAN2?"
        )
    return codes + latent_avg.to(codes.dtype).reshape(-1, dim).unsqueeze(0)
