"""The official inference forward end to end (README §5.7): inversion once, then two driven frames."""

import pytest
import torch

from styleheat_core.models.flow import flow_to_grid
from styleheat_core.pipeline.inversion import invert, render_for_encoder
from styleheat_core.pipeline.reenactment import render_frames, video_motion, warp_feature
from styleheat_core.preprocess.semantics import semantic_windows
from tests.support.golden import GoldenCase
from tests.support.recipe_networks import recipe_networks

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def networks():
    nets = recipe_networks()
    return nets.inversion, nets.motion


@pytest.fixture(scope="module")
def case():
    return GoldenCase.load("end_to_end")


def _source_tensor(source_u8: torch.Tensor) -> torch.Tensor:
    """ToTensor + Normalize(0.5, 0.5) of an HWC uint8 image, as the official dataset does."""
    return ((source_u8.permute(2, 0, 1).float() / 255 - 0.5) / 0.5).unsqueeze(0)


def test_driving_windows_are_built_from_the_coefficient_sequence(case):
    windows = semantic_windows(case.input("in.coeff_sequence"), case.notes["window_frames"])
    assert torch.equal(windows, case.input("in.window_3dmm"))


@torch.no_grad()
def test_end_to_end_forward_matches_official(networks, case):
    inv_nets, motion_nets = networks
    source = invert(inv_nets, _source_tensor(case.input("in.source_u8")))
    e4e_image, _ = render_for_encoder(inv_nets.generator, source.w_plus)
    windows = case.input("in.window_3dmm")
    motion = video_motion(motion_nets, source, windows)
    fx_warp = warp_feature(source.feature, motion.grids)
    refining = motion_nets.calibrator(fx_warp, motion.descriptor)
    batch = source.expand(windows.shape[0])
    video_warp_image = inv_nets.generator(batch.w_plus, inversion_condition=batch.condition, grids=motion.grids).image

    case.check_all(
        {
            "out.e4e_w_plus": source.w_plus,
            "out.e4e_image256": e4e_image,
            "out.residual": source.residual,
            "out.res_aligned": inv_nets.aligner(torch.cat((source.residual, e4e_image), 1)),
            "out.inversion_scale": source.condition[0],
            "out.inversion_shift": source.condition[1],
            "out.ix": source.image256,
            "out.fx": source.feature,
            "out.descriptor": motion.descriptor,
            "out.flow": motion.flow,
            "out.grid": flow_to_grid(motion.flow),
            "out.fx_warp": fx_warp,
            "out.rc6": refining[6],
            "out.rc7": refining[7],
            "out.video_warp_image": video_warp_image,
            "out.fake_image": render_frames(inv_nets.generator, motion_nets.calibrator, source, motion),
        }
    )
