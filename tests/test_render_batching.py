"""render_frames on a batch of frames equals rendering the frames one at a time.

Covers the shared-code path (one W+ for every frame: the generator shares its layers below 64x64)
and the per-frame path (edited codes differ per frame: grouped convolutions), with and without a
calibrator, and the synthesis above 64x64 one frame, two frames or the whole batch at a time; the last
stage in bands of rows; and the calibrator's warped feature taken by the generator.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from styleheat_core.models import stylegan2
from styleheat_core.models.flow import flow_to_grid
from styleheat_core.models.modulation import FeatureModulation
from styleheat_core.models.stylegan2 import BAND_HALO, FEATURE_STAGE, Generator, ModulatedConv2d
from styleheat_core.pipeline.forward import Calibration, FrameMotion, calibrate, render_frames, shared_code
from styleheat_core.pipeline.inversion import OptimizedInversion

FRAMES = 3
# Whole generator passes batched differently: the rounding of every Winograd F(4x4, 3x3) layer, in different orders.
ATOL = 2e-5


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class TinyCalibrator(nn.Module):
    """CalibrationNet's contract: a 64x64 (scale, shift) that depends on the warped feature and the descriptor of each frame."""

    def __init__(self, channels: int):
        super().__init__()
        self.mix = nn.Conv2d(channels, 2 * channels, 1)

    def refinement(self, warped: torch.Tensor, descriptor: torch.Tensor) -> FeatureModulation:
        return FeatureModulation(*(0.1 * self.mix(warped) + descriptor.mean(1, keepdim=True).unsqueeze(-1)).chunk(2, dim=1))


@pytest.fixture(scope="module")
def generator() -> Generator:
    torch.manual_seed(0)
    return Generator(128, style_dim=32, n_mlp=1, channel_multiplier=1).eval()


def _source(g: Generator, codes: int) -> OptimizedInversion:
    w_plus = torch.randn(codes, g.n_latent, g.style_dim, generator=_seeded(1))
    feature = torch.randn(1, g.channels[64], 64, 64, generator=_seeded(2)).expand(codes, -1, -1, -1)
    return OptimizedInversion(w_plus, feature, torch.zeros(codes, 3, 256, 256))


def _motion() -> FrameMotion:
    flow = 3 * torch.randn(FRAMES, 2, 64, 64, generator=_seeded(3))
    return FrameMotion(flow, (flow_to_grid(flow),), torch.randn(FRAMES, 256, 1, generator=_seeded(4)))


def _frame(motion: FrameMotion, i: int) -> FrameMotion:
    return FrameMotion(motion.flow[i : i + 1], tuple(g[i : i + 1] for g in motion.grids), motion.descriptor[i : i + 1])


def _render(generator: Generator, calibrator: TinyCalibrator | None, source: OptimizedInversion, motion: FrameMotion) -> torch.Tensor:
    refinement = None if calibrator is None else calibrate(calibrator, source.feature, motion)
    return render_frames(generator, source, motion, refinement)


@torch.no_grad()
@pytest.mark.parametrize("high_resolution_frames", [None, 2, FRAMES], ids=["cpu-default", "two-at-a-time", "whole-batch"])
@pytest.mark.parametrize("calibrated", [True, False])
@pytest.mark.parametrize("codes", [1, FRAMES], ids=["shared-code", "code-per-frame"])
def test_batched_render_equals_frame_by_frame(generator, calibrated, codes, high_resolution_frames, monkeypatch):
    monkeypatch.setattr(generator, "high_resolution_frames", high_resolution_frames)
    torch.manual_seed(5)
    calibrator = TinyCalibrator(generator.channels[64]).eval() if calibrated else None
    source = _source(generator, codes).expand(FRAMES) if codes == 1 else _source(generator, codes)
    motion = _motion()
    batched = _render(generator, calibrator, source, motion)
    one_by_one = torch.cat(
        [_render(generator, calibrator, source.map(lambda t, i=i: t[i : i + 1]), _frame(motion, i)) for i in range(FRAMES)]
    )
    assert batched.shape == (FRAMES, 3, 128, 128)
    torch.testing.assert_close(batched, one_by_one, atol=ATOL, rtol=0)
    assert not torch.allclose(batched[0], batched[1])


@torch.no_grad()
@pytest.mark.parametrize("band_rows", [7, 16, 24, 64])
def test_the_last_stage_in_row_bands_equals_the_whole_stage(generator, band_rows, monkeypatch):
    # The last stage runs a band of input rows at a time (each with BAND_HALO rows of its neighbours), so that its
    # activations at the top resolution exist one band at a time; the image is the one computed at once.
    source, motion = _source(generator, 1).expand(FRAMES), _motion()
    monkeypatch.setattr(generator, "band_rows", 10**6)
    whole = _render(generator, None, source, motion)
    monkeypatch.setattr(generator, "band_rows", band_rows)
    torch.testing.assert_close(_render(generator, None, source, motion), whole, atol=ATOL, rtol=0)


@torch.no_grad()
def test_the_cpu_renders_the_last_stage_in_bands_that_need_their_whole_halo(generator, monkeypatch):
    # On the CPU (band_rows None) the last stage is banded by CPU_BAND_ROWS; a halo one row short changes the image,
    # so BAND_HALO is the bound of what a band reads beyond its rows, and the banding does run.
    source, motion = _source(generator, 1).expand(FRAMES), _motion()
    monkeypatch.setattr(generator, "band_rows", 10**6)
    whole = _render(generator, None, source, motion)
    monkeypatch.setattr(generator, "band_rows", None)
    monkeypatch.setattr(stylegan2, "CPU_BAND_ROWS", 16)
    torch.testing.assert_close(_render(generator, None, source, motion), whole, atol=ATOL, rtol=0)
    monkeypatch.setattr(stylegan2, "BAND_HALO", BAND_HALO - 1)
    assert (_render(generator, None, source, motion) - whole).abs().amax() > 1e-3


@torch.no_grad()
def test_the_calibrators_warped_feature_is_rendered_when_it_is_in_the_generators_dtype(generator):
    # One warp per chunk: the generator takes the feature the calibrator saw. The same frames come out when the
    # calibration's warped feature is in another dtype (the generator then warps again), and a changed warped
    # feature changes the frames (so it is the one rendered).
    torch.manual_seed(5)
    source, motion = _source(generator, 1).expand(FRAMES), _motion()
    calibration = calibrate(TinyCalibrator(generator.channels[64]).eval(), source.feature, motion)
    reused = render_frames(generator, source, motion, calibration)
    rewarped = render_frames(generator, source, motion, calibration._replace(warped=calibration.warped.double()))
    assert torch.equal(reused, rewarped)
    replaced = render_frames(generator, source, motion, Calibration(torch.zeros_like(calibration.warped), calibration.refinement))
    assert (replaced - reused).abs().amax() > 0.1


def test_shared_code_keeps_one_row_only_when_all_rows_are_equal():
    w = torch.randn(1, 4, 8, generator=_seeded(6))
    assert shared_code(w.expand(3, -1, -1)).shape[0] == 1
    assert shared_code(w.repeat(3, 1, 1)).shape[0] == 1
    different = torch.cat([w, w + 1e-6, w])
    assert shared_code(different) is different


@torch.no_grad()
@pytest.mark.parametrize("codes", [1, FRAMES], ids=["shared-code", "code-per-frame"])
def test_frames_sharing_a_code_modulate_each_weight_once(generator, codes, monkeypatch):
    # One frame at a time above 64x64 (the CPU default): with one code for all frames, each layer's weight is
    # modulated once per render, not once per frame; codes that differ per frame are modulated per frame.
    monkeypatch.setattr(generator, "high_resolution_frames", 1)
    source = _source(generator, codes).expand(FRAMES) if codes == 1 else _source(generator, codes)
    modulated = []
    original = ModulatedConv2d.modulated_weight
    monkeypatch.setattr(
        ModulatedConv2d, "modulated_weight", lambda self, style, gain=1.0: modulated.append(self) or original(self, style, gain)
    )
    _render(generator, None, source, _motion())
    above = _above_feature_layers(generator)
    assert len(above) == 3  # the 128x128 stage of this generator
    assert sum(m not in above for m in modulated) == 2 + 3 * (FEATURE_STAGE + 1)  # the 4x4 layers and the stages up to 64x64, once each
    assert sum(m in above for m in modulated) == len(above) * (1 if codes == 1 else FRAMES)


def _above_feature_layers(generator: Generator) -> set[ModulatedConv2d]:
    """The modulated convolutions that run one frame at a time: every stage above the 64x64 one."""
    stages = range(FEATURE_STAGE + 1, len(generator.to_rgbs))
    return {
        layer.conv for stage in stages for layer in (generator.convs[2 * stage], generator.convs[2 * stage + 1], generator.to_rgbs[stage])
    }
