"""3x3 convolutions by Winograd's minimal filtering F(4x4, 3x3) or F(2x2, 3x3), for CPU inference of wide layers.

A stride-1, padding-1 3x3 convolution of a (B, C, H, W) map is computed on n x n input tiles taken every
m pixels (m = 4, n = 6 where H and W are multiples of 4; else m = 2, n = 4 where they are even): each
tile is transformed by V = Bt d B, the n² tile positions are n² matrix products (tiles x C) @ (C x O)
with the transformed filters U = G g Gt, and each product is turned back into its m x m output block by
Y = At M A. F(4x4, 3x3) takes 36 multiplications per 16 outputs instead of 144 (4x fewer; F(2x2, 3x3):
16 per 4, 2.25x), and the products run as large GEMMs. Both transforms are one matrix product each
(Bt x Bt as an n² x n² matrix over the gathered tiles, At x At as m² x n²).

F(4x4, 3x3) interpolates at 0, 1, -1, 1/2, -2 and infinity rather than the usual 0, +-1, +-2: its
largest error against float64 is then 2-3e-5 on unit-scale data of 128-512 channels, 1.5-3x that of
oneDNN's direct fp32 convolution (the usual points give 5-9e-5); F(2x2, 3x3) only adds and halves and
is more accurate than the direct convolution. Measured on 2 CPU cores (fp32), F(4x4, 3x3) takes
0.5-0.85x the time of oneDNN's direct convolution from 128 channels up and 0.55-0.75x that of
F(2x2, 3x3) (benchmarks/RESULTS.md). Narrower layers are faster direct.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Algorithm:
    """F(m x m, 3x3): the output tile side m, the fewest channels at which it beats the direct
    convolution, and its three transforms, each a matrix over flattened tiles."""

    tile: int
    min_channels: int
    input_transform: torch.Tensor  # (n², n²): Bt d B of a flattened n x n tile
    filter_transform: torch.Tensor  # (9, n²): G g Gt of a flattened 3x3 filter
    output_transform: torch.Tensor  # (m², n²): At M A into a flattened m x m block

    @property
    def span(self) -> int:
        """n, the input tile side."""
        return self.tile + 2


def _algorithm(tile: int, min_channels: int, bt: list[list[str]], g: list[list[str]], at: list[list[str]]) -> Algorithm:
    """An Algorithm from its exact (rational) Bt, G and At; the transforms are kept in float64 and cast per call."""
    bt_, g_, at_ = (torch.tensor([[float(Fraction(v)) for v in row] for row in m], dtype=torch.float64) for m in (bt, g, at))
    n = tile + 2
    return Algorithm(
        tile,
        min_channels,
        torch.einsum("ai,bj->abij", bt_, bt_).reshape(n * n, n * n),
        torch.einsum("ai,bj->ijab", g_, g_).reshape(9, n * n),
        torch.einsum("ra,cb->rcab", at_, at_).reshape(tile * tile, n * n),
    )


F2 = _algorithm(
    2,
    256,  # measured, 2 CPU cores
    [["1", "0", "-1", "0"], ["0", "1", "1", "0"], ["0", "-1", "1", "0"], ["0", "1", "0", "-1"]],
    [["1", "0", "0"], ["1/2", "1/2", "1/2"], ["1/2", "-1/2", "1/2"], ["0", "0", "1"]],
    [["1", "1", "1", "0"], ["0", "1", "-1", "-1"]],
)
F4 = _algorithm(
    4,
    128,  # measured, 2 CPU cores: 64-channel layers run faster direct
    [
        ["1", "-3/2", "-2", "3/2", "1", "0"],
        ["0", "-1", "1/2", "5/2", "1", "0"],
        ["0", "1", "-5/2", "1/2", "1", "0"],
        ["0", "-2", "-1", "2", "1", "0"],
        ["0", "1/2", "-1", "-1/2", "1", "0"],
        ["0", "1", "-3/2", "-2", "3/2", "1"],
    ],
    [
        ["1", "0", "0"],
        ["1/3", "1/3", "1/3"],
        ["-1/3", "1/3", "-1/3"],
        ["-16/15", "-8/15", "-4/15"],
        ["1/15", "-2/15", "4/15"],
        ["0", "0", "1"],
    ],
    [
        ["1", "1", "1", "1", "1", "0"],
        ["0", "1", "-1", "1/2", "-2", "0"],
        ["0", "1", "1", "1/4", "4", "0"],
        ["0", "1", "-1", "1/8", "-8", "1"],
    ],
)
MIN_PIXELS = 1024  # fewer output pixels per batch: the transforms cost more than they save
# Tile rows are transformed and multiplied a band at a time, so that the tile buffers (n² x tiles x channels,
# 2.25x the input for F(4x4, 3x3)) stay near BAND_BYTES, with at least BAND_TILES tiles per band: smaller
# products ran slower for the 512-channel layers (measured, 2 CPU cores), and a 1024² frame's 128-channel
# layer at 256² kept 144 MiB of tile buffers for the whole map.
BAND_BYTES = 32 * 2**20
BAND_TILES = 1024


def algorithm_for(height: int, width: int) -> Algorithm | None:
    """F(4x4, 3x3) where the map tiles by 4, F(2x2, 3x3) where it tiles by 2, else None."""
    return next((a for a in (F4, F2) if height % a.tile == 0 and width % a.tile == 0), None)


def applies(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: tuple[int, int], groups: int) -> bool:
    """Whether conv2d(x, weight) is a wide fp32 3x3 convolution that Winograd computes faster."""
    out_channels, in_channels, kh, kw = weight.shape
    batch, _, height, width = x.shape
    algorithm = algorithm_for(height, width)
    return (
        (kh, kw, stride, padding, groups) == (3, 3, 1, (1, 1), 1)
        and x.dtype == torch.float32
        and algorithm is not None
        and min(in_channels, out_channels) >= algorithm.min_channels
        and batch * height * width >= MIN_PIXELS
    )


def _padded(x: torch.Tensor) -> torch.Tensor:
    """x as (B, H+2, W+2, C) with a zero border."""
    batch, channels, height, width = x.shape
    padded = x.new_empty(batch, height + 2, width + 2, channels)
    for edge in (padded[:, 0], padded[:, -1], padded[:, :, 0], padded[:, :, -1]):
        edge.zero_()
    padded[:, 1:-1, 1:-1] = x.permute(0, 2, 3, 1)
    return padded


def _input_tiles(padded: torch.Tensor, tile_rows: range, algorithm: Algorithm) -> torch.Tensor:
    """Bt d B for the n x n tiles of rows `tile_rows` of the padded input, as (n², tiles, C) in tile-position-major order."""
    batch, _, width, channels = padded.shape
    m, n = algorithm.tile, algorithm.span
    th, tw = len(tile_rows), (width - 2) // m
    tiles = padded.new_empty(n, n, batch, th, tw, channels)
    top = tile_rows.start * m
    for row in range(n):
        # (batch, th, tw, channels, n) windows along the width, for the tiles' input row `row`
        tiles[row] = padded[:, top + row : top + row + m * th : m].unfold(2, n, m).permute(4, 0, 1, 2, 3)
    return torch.mm(algorithm.input_transform.to(padded), tiles.view(n * n, -1)).view(n * n, -1, channels)


def filter_transform(weight: torch.Tensor, algorithm: Algorithm) -> torch.Tensor:
    """G g Gt of (O, C, 3, 3) filters as (n², C, O) matrices (a transposed view, no copy)."""
    out_channels, in_channels = weight.shape[:2]
    u = torch.mm(algorithm.filter_transform.to(weight).t(), weight.reshape(out_channels * in_channels, 9).t())
    return u.view(-1, out_channels, in_channels).transpose(1, 2)


def conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, negative_slope: float | None = None) -> torch.Tensor:
    """conv2d(x, weight, bias, padding=1) [then leaky_relu(negative_slope)], channels_last out; needs `applies`.

    Bands of tile rows are independent: each is gathered, transformed and multiplied on its own (`BAND_BYTES`)."""
    batch, channels, height, width = x.shape
    out_channels = weight.shape[0]
    algorithm = algorithm_for(height, width)
    m, n = algorithm.tile, algorithm.span
    th, tw = height // m, width // m
    u = filter_transform(weight, algorithm)
    padded = _padded(x)
    out = x.new_empty(batch, th, m, tw, m, out_channels)
    row_bytes = n * n * batch * tw * max(channels, out_channels) * x.element_size()
    rows = max(-(-BAND_TILES // (batch * tw)), BAND_BYTES // row_bytes)
    for top in range(0, th, rows):
        band = range(top, min(top + rows, th))
        products = torch.bmm(_input_tiles(padded, band, algorithm), u)
        blocks = torch.mm(algorithm.output_transform.to(x), products.view(products.shape[0], -1))
        blocks = blocks.view(m, m, batch, len(band), tw, out_channels).permute(2, 3, 0, 4, 1, 5)
        target = out[:, band.start : band.stop]
        if bias is None:
            target.copy_(blocks)
        else:
            torch.add(blocks, bias, out=target)
    out = out.view(batch, height, width, out_channels).permute(0, 3, 1, 2)
    return out if negative_slope is None else F.leaky_relu_(out, negative_slope)
