"""Winograd F(4x4, 3x3) and F(2x2, 3x3) convolutions and the conv2d dispatcher of models/ops.py.

conv3x3 is checked against a float64 direct convolution (the obviously correct formulation): exactly
in float64 (so the transforms are right), and in fp32 with bias, activation, both memory layouts and
channel counts that are not multiples of anything, and against the error of the direct fp32
convolution on a wide layer; the dispatcher picks it only for wide fp32 3x3 convolutions without
gradients, and the fused oneDNN path otherwise equals F.conv2d + leaky ReLU.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from styleheat_core.models import ops, winograd

CHANNELS_LAST = torch.channels_last


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _direct64(x, weight, bias, negative_slope):
    out = F.conv2d(x.double(), weight.double(), None if bias is None else bias.double(), padding=1)
    return out if negative_slope is None else F.leaky_relu(out, negative_slope)


# (height, width) that tile by 4 (F(4x4, 3x3)) and by 2 only (F(2x2, 3x3))
SIZES = {4: (8, 12), 2: (6, 10)}
# Largest fp32 error against float64 on unit-scale data of a few channels: F(4x4, 3x3)'s transforms
# have entries 1/3, 1/15 and 8 that round (F(2x2, 3x3) only adds and halves).
ATOL = {4: 8e-6, 2: 2e-6}


@pytest.mark.parametrize("tile", [4, 2])
def test_conv3x3_is_exact_in_float64(tile):
    height, width = SIZES[tile]
    assert winograd.algorithm_for(height, width).tile == tile
    x = torch.randn(2, 6, height, width, generator=_seeded(8), dtype=torch.float64)
    weight = torch.randn(5, 6, 3, 3, generator=_seeded(9), dtype=torch.float64)
    bias = torch.randn(5, generator=_seeded(10), dtype=torch.float64)
    torch.testing.assert_close(winograd.conv3x3(x, weight, bias), F.conv2d(x, weight, bias, padding=1), atol=1e-12, rtol=0)


@pytest.mark.parametrize("tile", [4, 2])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    ("batch", "in_channels", "out_channels", "with_bias", "negative_slope"),
    [(2, 5, 7, True, None), (1, 3, 4, False, 0.2), (3, 17, 9, True, 0.2), (1, 8, 8, False, None)],
)
def test_conv3x3_equals_the_float64_direct_convolution(batch, in_channels, out_channels, with_bias, negative_slope, channels_last, tile):
    x = torch.randn(batch, in_channels, *SIZES[tile], generator=_seeded(0))
    if channels_last:
        x = x.contiguous(memory_format=CHANNELS_LAST)
    weight = torch.randn(out_channels, in_channels, 3, 3, generator=_seeded(1)) / (9 * in_channels) ** 0.5
    bias = torch.randn(out_channels, generator=_seeded(2)) if with_bias else None
    out = winograd.conv3x3(x, weight, bias, negative_slope)
    expected = _direct64(x, weight, bias, negative_slope)
    assert out.shape == expected.shape and out.dtype == torch.float32
    assert out.is_contiguous(memory_format=CHANNELS_LAST)
    torch.testing.assert_close(out.double(), expected, atol=ATOL[tile], rtol=0)


# Largest error against float64 allowed, as a multiple of the direct fp32 convolution's own.
ERROR_FACTOR = {2: 1.0, 4: 3.0}


@pytest.mark.parametrize("tile", [4, 2])
@pytest.mark.parametrize(("band_rows", "bands"), [(1, 6), (4, 2), (6, 1)])
def test_conv3x3_in_bands_of_tile_rows_equals_one_band(tile, band_rows, bands, monkeypatch):
    # Tile rows are gathered, transformed and multiplied a band at a time (the last band may be shorter);
    # each tile's arithmetic is the same, so the result is bit for bit the one of a single band.
    height, width = 6 * tile, 5 * tile
    x = torch.randn(2, 16, height, width, generator=_seeded(11)).contiguous(memory_format=CHANNELS_LAST)
    weight = torch.randn(12, 16, 3, 3, generator=_seeded(12)) / 12
    bias = torch.randn(12, generator=_seeded(13))
    one_band = winograd.conv3x3(x, weight, bias, 0.2)
    gathered = []
    original = winograd._input_tiles
    monkeypatch.setattr(winograd, "_input_tiles", lambda padded, rows, algorithm: gathered.append(rows) or original(padded, rows, algorithm))
    monkeypatch.setattr(winograd, "BAND_TILES", 1)
    row_bytes = (tile + 2) ** 2 * 2 * 5 * 16 * 4  # n² x batch x tiles per row x channels x 4 bytes
    monkeypatch.setattr(winograd, "BAND_BYTES", band_rows * row_bytes)
    banded = winograd.conv3x3(x, weight, bias, 0.2)
    assert len(gathered) == bands and sum(len(rows) for rows in gathered) == 6
    assert torch.equal(banded, one_band)


@pytest.mark.parametrize("tile", [4, 2])
def test_conv3x3_is_about_as_accurate_as_the_direct_fp32_convolution_on_a_wide_layer(tile):
    x = torch.randn(1, 256, 32, 32 + (0 if tile == 4 else 2), generator=_seeded(3)).contiguous(memory_format=CHANNELS_LAST)
    weight = torch.randn(256, 256, 3, 3, generator=_seeded(4)) / 48.0
    assert winograd.algorithm_for(*x.shape[-2:]).tile == tile
    expected = _direct64(x, weight, None, None)
    winograd_error = (winograd.conv3x3(x, weight).double() - expected).abs().max().item()
    direct_error = (F.conv2d(x, weight, padding=1).double() - expected).abs().max().item()
    assert winograd_error <= ERROR_FACTOR[tile] * max(direct_error, 5e-6)


@pytest.mark.parametrize(
    ("algorithm", "centre_column"),
    [(winograd.F2, [0.0, 0.5, -0.5, 0.0]), (winograd.F4, [0.0, 1 / 3, 1 / 3, -8 / 15, -2 / 15, 0.0])],
)
def test_filter_transform_of_a_centre_tap_is_the_outer_product_of_g_centre_column(algorithm, centre_column):
    weight = torch.zeros(1, 1, 3, 3)
    weight[0, 0, 1, 1] = 1.0
    n = algorithm.span
    u = winograd.filter_transform(weight, algorithm).reshape(n, n)
    column = torch.tensor(centre_column)
    torch.testing.assert_close(u, torch.outer(column, column), atol=1e-7, rtol=0)


@pytest.mark.parametrize(
    ("shape", "weight_shape", "stride", "padding", "dtype", "expected"),
    [
        ((4, 256, 64, 64), (256, 256, 3, 3), 1, 1, torch.float32, True),
        ((1, 512, 32, 32), (512, 512, 3, 3), 1, 1, torch.float32, True),
        ((1, 512, 16, 16), (512, 512, 3, 3), 1, 1, torch.float32, False),  # 256 pixels: not worth the transforms
        ((4, 128, 64, 64), (128, 128, 3, 3), 1, 1, torch.float32, True),  # F(4x4, 3x3) from 128 channels
        ((4, 128, 66, 66), (128, 128, 3, 3), 1, 1, torch.float32, False),  # F(2x2, 3x3) from 256 only
        ((4, 256, 66, 66), (256, 256, 3, 3), 1, 1, torch.float32, True),
        ((4, 64, 64, 64), (64, 64, 3, 3), 1, 1, torch.float32, False),  # narrow: direct is faster
        ((4, 256, 64, 64), (256, 256, 3, 3), 2, 1, torch.float32, False),
        ((4, 256, 63, 64), (256, 256, 3, 3), 1, 1, torch.float32, False),
        ((4, 256, 64, 64), (256, 256, 1, 1), 1, 0, torch.float32, False),
        ((4, 256, 64, 64), (256, 256, 3, 3), 1, 1, torch.bfloat16, False),
    ],
)
def test_winograd_applies_to_wide_fp32_3x3_convolutions_only(shape, weight_shape, stride, padding, dtype, expected):
    x = torch.empty(shape, dtype=dtype)
    assert winograd.applies(x, torch.empty(weight_shape, dtype=dtype), stride, (padding, padding), 1) is expected


def test_conv2d_dispatch_uses_winograd_for_wide_inference_layers(monkeypatch):
    calls = []
    monkeypatch.setattr(winograd, "conv3x3", lambda *args: calls.append(args) or torch.zeros(1))
    x = torch.randn(1, 256, 32, 32)
    weight = torch.randn(256, 256, 3, 3)
    with torch.no_grad():
        ops.conv2d(x, weight, padding=1)
    assert len(calls) == 1
    ops.conv2d(x, weight.requires_grad_(True), padding=1)  # gradients: the plain convolution, which autograd records
    assert len(calls) == 1


@pytest.mark.parametrize(("groups", "stride", "negative_slope"), [(1, 1, 0.2), (1, 2, None), (4, 1, 0.2)])
def test_conv2d_fused_paths_equal_conv_then_leaky_relu(groups, stride, negative_slope):
    x = torch.randn(2, 8, 11, 11, generator=_seeded(5)).contiguous(memory_format=CHANNELS_LAST)
    weight = torch.randn(12, 8 // groups, 3, 3, generator=_seeded(6))
    bias = torch.randn(12, generator=_seeded(7))
    expected = F.conv2d(x, weight, bias, stride=stride, padding=1, groups=groups)
    if negative_slope is not None:
        expected = F.leaky_relu(expected, negative_slope)
    with torch.no_grad():
        fused = ops.conv2d(x, weight, bias, stride, 1, groups, negative_slope)
    torch.testing.assert_close(fused, expected, atol=1e-5, rtol=0)
    leaf = x.clone().requires_grad_(True)
    ops.conv2d(leaf, weight, bias, stride, 1, groups, negative_slope).sum().backward()
    assert leaf.grad is not None and torch.isfinite(leaf.grad).all()
