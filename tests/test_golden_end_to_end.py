"""The official inference forward end to end (README §5.7): inversion once, then two driven frames."""

import pytest
import torch

from styleheat_core.models.calibrator import refinement_from_official
from styleheat_core.models.flow import flow_to_grid
from styleheat_core.pipeline.forward import Calibration, predict_motion, render_frames, render_warped, styleheat_forward, warp_feature
from styleheat_core.pipeline.inversion import encoder_input, invert, invert_code, render_for_encoder
from styleheat_core.preprocess.semantics import semantic_windows
from tests.support.golden import GoldenCase
from tests.support.recipe_networks import recipe_networks

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def networks():
    return recipe_networks()


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
def test_the_staged_inversion_of_the_headless_renderer_equals_the_official_one(networks, case):
    """e4e's code first, then the HFGI half with e4e released (render/job.py), as the one-call inversion."""
    generator, encoders = networks.generator, networks.encoders
    source = _source_tensor(case.input("in.source_u8"))
    image256 = encoder_input(encoders, source)
    residual_only = encoders.residual_only()
    staged = invert_code(generator, residual_only, image256, encoders.encode(image256))
    whole = invert(generator, encoders, source)
    assert residual_only.e4e is None
    for name in ("w_plus", "feature", "image256", "residual"):
        assert torch.equal(getattr(staged, name), getattr(whole, name)), name
    for name, value in {"out.e4e_w_plus": staged.w_plus, "out.fx": staged.feature, "out.inversion_scale": staged.condition.scale}.items():
        case.check(name, value)
    with pytest.raises(ValueError, match="e4e was released"):
        residual_only.encode(image256)


@torch.no_grad()
def test_end_to_end_forward_matches_official(networks, case):
    generator, encoders, motion_nets = networks.generator, networks.encoders, networks.motion
    source = invert(generator, encoders, _source_tensor(case.input("in.source_u8")))
    e4e_image, _ = render_for_encoder(generator, source.w_plus)
    windows = case.input("in.window_3dmm")
    motion = predict_motion(motion_nets.video_warper, source.image256, windows)
    fx_warp = warp_feature(source.feature, motion.grids)
    official = motion_nets.calibrator(fx_warp, motion.descriptor)
    refinement = motion_nets.calibrator.refinement(fx_warp, motion.descriptor)
    torch.testing.assert_close(refinement, refinement_from_official(official), rtol=0, atol=0)
    forward = styleheat_forward(generator, motion_nets, source, windows, with_warped=True)

    case.check_all(
        {
            "out.e4e_w_plus": source.w_plus,
            "out.e4e_image256": e4e_image,
            "out.residual": source.residual,
            "out.res_aligned": encoders.aligner(torch.cat((source.residual, e4e_image), 1)),
            "out.inversion_scale": source.condition.scale,
            "out.inversion_shift": source.condition.shift,
            "out.ix": source.image256,
            "out.fx": source.feature,
            "out.descriptor": motion.descriptor,
            "out.flow": motion.flow,
            "out.grid": flow_to_grid(motion.flow),
            "out.fx_warp": fx_warp,
            "out.rc6": official[6],
            "out.rc7": official[7],
            "out.video_warp_image": render_warped(generator, source, motion),
            "out.fake_image": render_frames(generator, source, motion, Calibration(fx_warp, refinement)),
        }
    )
    case.check("out.video_warp_image", forward.warped)
    case.check("out.fake_image", forward.frames)
