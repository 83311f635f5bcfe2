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


def style_tier(blocks: list[GradualStyleBlock], x: torch.Tensor) -> torch.Tensor:
    """(B, len(blocks), out_c): every block of a tier on their shared input x.

    On the CPU the blocks advance together, one level at a time: each level unfolds its input once
    (im2col; at the first level all blocks read the same features), and each block's weight
    multiplies its own rows of it straight into its slice of the level's output, bias added in the
    same product. No stacked copy of the weights is made. Equal to running the blocks one by one,
    which is what runs elsewhere and wherever autograd records.
    """
    recording = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for block in blocks for p in block.parameters()))
    if x.device.type != "cpu" or recording:
        return torch.stack([block(x) for block in blocks], dim=1)
    batch, count, channels = x.shape[0], len(blocks), blocks[0].out_c
    for level in range(len(blocks[0].convs) // 2):
        height, width = ((size - 1) // 2 + 1 for size in x.shape[-2:])
        columns = F.unfold(x, 3, padding=1, stride=2)
        rows = columns.shape[1] if level == 0 else columns.shape[1] // count
        out = x.new_empty(batch, count * channels, height * width)
        for index, block in enumerate(blocks):
            conv = block.convs[2 * level]
            block_columns = columns if level == 0 else columns[:, index * rows : (index + 1) * rows]
            for sample in range(batch):
                torch.addmm(conv.bias[:, None], conv.weight.flatten(1), block_columns[sample], out=out[sample, index * channels : (index + 1) * channels])
        x = F.leaky_relu_(out, blocks[0].convs[2 * level + 1].negative_slope).view(batch, -1, height, width)
    features = x.view(batch, count, channels)
    return torch.stack([block.linear(features[:, i]) for i, block in enumerate(blocks)], dim=1)


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
        styles = list(self.styles)
        codes = [style_tier(styles[:COARSE_STYLES], coarse)]
        if self.style_count > COARSE_STYLES:
            middle = _upsample_add(coarse, conv2d(middle, self.latlayer1.weight, self.latlayer1.bias))
            codes.append(style_tier(styles[COARSE_STYLES:MIDDLE_STYLES], middle))
        if self.style_count > MIDDLE_STYLES:
            fine = _upsample_add(middle, conv2d(fine, self.latlayer2.weight, self.latlayer2.bias))
            codes.append(style_tier(styles[MIDDLE_STYLES:], fine))
        codes = torch.cat(codes, dim=1)
        return torch.cat([codes[:, :1], codes[:, 1:] + codes[:, :1]], dim=1)


def add_latent_avg(codes: torch.Tensor, latent_avg: torch.Tensor) -> torch.Tensor:
    """codes + latent_avg, accepting latent_avg of shape (512,), (1, 512) or (n_styles, 512) as official."""
    n_styles, dim = codes.shape[1:]
    if latent_avg.shape not in ((dim,), (1, dim), (n_styles, dim)):
        raise ValueError(
            f"latent_avg must have shape ({dim},), (1, {dim}) or ({n_styles}, {dim}); got {tuple(latent_avg.shape)}. "
            "Is Encoder_e4e.pth the e4e checkpoint for a 1024 StyleGAN2?"
        )
    return codes + latent_avg.to(codes.dtype).reshape(-1, dim).unsqueeze(0)
