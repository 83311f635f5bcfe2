"""Flow -> grid conversion and warping conventions (the golden grid is checked in test_golden_stylegan2)."""

import pytest
import torch

from styleheat_core.models.flow import flow_to_grid, warp


def test_zero_flow_keeps_the_official_align_corners_mismatch():
    # f(y, x) = 4y + x is linear, so bilinear sampling returns 4*py + px wherever all 4 taps are inside.
    feature = torch.arange(16.0).view(1, 1, 4, 4)
    warped = warp(feature, flow_to_grid(torch.zeros(1, 2, 4, 4)))
    # Grid index i sits at 2*i/3 - 1, which grid_sample(align_corners=False) reads at pixel 4*i/3 - 1/2.
    assert warped[0, 0, 1, 1].item() == pytest.approx(4 * 5 / 6 + 5 / 6, abs=1e-5)
    # The last sample lies at pixel (3.5, 3.5): only the (3, 3) tap is inside, with weight 1/4.
    assert warped[0, 0, 3, 3].item() == pytest.approx(0.25 * feature[0, 0, 3, 3].item(), abs=1e-5)


def test_grid_is_resized_to_the_source():
    source = torch.randn(1, 3, 16, 16)
    grid = flow_to_grid(torch.zeros(1, 2, 4, 4))
    assert warp(source, grid).shape == (1, 3, 16, 16)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_reduced_precision_channels_last_sources_warp_like_nchw(dtype):
    source = torch.randn(1, 64, 64, 64, generator=torch.Generator().manual_seed(0)).to(dtype)  # the bug shows from about this size
    flow = torch.randn(2, 2, 64, 64, generator=torch.Generator().manual_seed(1)) * 3
    grid = flow_to_grid(flow)
    nchw = warp(source.expand(2, -1, -1, -1), grid)
    channels_last = warp(source.contiguous(memory_format=torch.channels_last).expand(2, -1, -1, -1), grid)
    assert torch.isfinite(channels_last).all()
    torch.testing.assert_close(channels_last, nchw)  # the dtype's rounding: the two layouts take different kernels


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_reduced_precision_sources_are_sampled_as_accurately_as_their_dtype_allows(dtype):
    # PyTorch's own bf16 sampling misses float64 by up to about 1.25 here; sampled in fp32 and cast back, the
    # error is the dtype's rounding of the result (half an ulp at |value| < 4: 2**-7 for bf16, 2**-10 for fp16).
    source = torch.randn(2, 64, 64, 64, generator=torch.Generator().manual_seed(0)).clamp(-3.9, 3.9).to(dtype)
    grid = (torch.rand(2, 64, 64, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1).to(dtype)
    exact = torch.nn.functional.grid_sample(source.double(), grid.double(), align_corners=False)
    warped = warp(source.contiguous(memory_format=torch.channels_last), grid)
    assert warped.dtype == dtype
    half_ulp = {torch.bfloat16: 2**-7, torch.float16: 2**-10}[dtype]
    assert (warped.double() - exact).abs().max().item() <= half_ulp * 1.01


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_warp_keeps_the_source_layout(dtype):
    # The calibrator and the generator convolve the warped feature channels_last on the CPU; an NCHW result would
    # cost a reorder in every convolution that follows.
    source = torch.randn(1, 8, 16, 16, generator=torch.Generator().manual_seed(2)).to(dtype)
    grid = flow_to_grid(torch.randn(3, 2, 16, 16, generator=torch.Generator().manual_seed(3)))
    channels_last = warp(source.contiguous(memory_format=torch.channels_last).expand(3, -1, -1, -1), grid)
    nchw = warp(source.expand(3, -1, -1, -1), grid)
    assert channels_last.is_contiguous(memory_format=torch.channels_last) and not channels_last.is_contiguous()
    assert nchw.is_contiguous() and channels_last.dtype == nchw.dtype == dtype
    torch.testing.assert_close(channels_last, nchw, **({"rtol": 0, "atol": 2e-5} if dtype == torch.float32 else {}))
    materialised = warp(source.expand(3, -1, -1, -1).contiguous(memory_format=torch.channels_last), grid)  # cast per sample
    torch.testing.assert_close(materialised, channels_last, rtol=0, atol=0)


@pytest.mark.parametrize("shared", [True, False])
def test_channels_last_gather_equals_grid_sample(shared):
    # CPU inference samples channels_last sources by gathering pixel rows (embedding_bag), not by grid_sample:
    # taps outside the source, distinct sources per grid, a grid resized to the source and a 5-pixel border
    # all have to come out as grid_sample computes them.
    generator = torch.Generator().manual_seed(4)
    source = torch.randn(1 if shared else 3, 16, 20, 24, generator=generator)
    grid = torch.rand(3, 10, 12, 2, generator=generator) * 2.4 - 1.2  # beyond [-1, 1]: partly outside
    grid[0, 0, 0] = torch.tensor([-1.0, -1.0])  # exactly on the corners of the sampling range
    grid[0, 0, 1] = torch.tensor([1.0, 1.0])
    expected = torch.nn.functional.grid_sample(
        source.expand(3, -1, -1, -1),
        torch.nn.functional.interpolate(grid.permute(0, 3, 1, 2), size=(20, 24), mode="bilinear", align_corners=False).permute(0, 2, 3, 1),
        align_corners=False,
    )
    with torch.no_grad():
        gathered = warp(source.contiguous(memory_format=torch.channels_last).expand(3, -1, -1, -1), grid)
    assert gathered.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(gathered, expected, rtol=0, atol=2e-5)  # kernels differ in rounding only (up to 4e-6 here)
    assert (expected == 0).any() and (gathered[expected == 0] == 0).all()  # zero padding where every tap is outside


def test_channels_last_warp_records_gradients_through_grid_sample():
    source = torch.randn(1, 4, 8, 8).contiguous(memory_format=torch.channels_last).requires_grad_()
    flow = torch.zeros(2, 2, 8, 8, requires_grad=True)
    warp(source.expand(2, -1, -1, -1), flow_to_grid(flow)).square().sum().backward()
    assert source.grad is not None and source.grad.abs().sum() > 0 and flow.grad is not None and flow.grad.abs().sum() > 0


def test_warp_takes_one_source_or_one_per_grid():
    grid = flow_to_grid(torch.zeros(3, 2, 8, 8))
    one = torch.randn(1, 4, 8, 8)
    torch.testing.assert_close(warp(one, grid), warp(one.expand(3, -1, -1, -1), grid), rtol=0, atol=0)
    with pytest.raises(ValueError, match="2 sources for 3 grids"):
        warp(torch.randn(2, 4, 8, 8), grid)
