"""VideoWarper and CalibrationNet against the official outputs (README §5.2, §5.3)."""

import pytest
import torch

from styleheat_core.models.calibrator import CalibrationNet
from styleheat_core.models.flow import flow_to_grid
from styleheat_core.models.warper import VideoWarper, warp_image_with_flow
from tests.support.golden import GoldenCase, network_state_dict

pytestmark = pytest.mark.golden


@torch.no_grad()
def test_video_warper():
    case = GoldenCase.load("video_warper")
    warper = VideoWarper()
    warper.load_state_dict(network_state_dict("video_warper"), strict=True)
    image = case.input("in.image")
    out = warper.eval()(image, case.input("in.window_3dmm"))
    case.check_all(
        {
            "out.descriptor": out.descriptor,
            "out.flow": out.flow,
            "out.grid": flow_to_grid(out.flow),
            "out.warp_image": warp_image_with_flow(image, out.flow),
        }
    )


@torch.no_grad()
def test_calibrator():
    case = GoldenCase.load("calibrator")
    calibrator = CalibrationNet(out_size=64, input_channel=512, num_style_feat=512, channel_multiplier=2, narrow=1)
    calibrator.load_state_dict(network_state_dict("calibrator"), strict=True)
    maps = calibrator.eval()(case.input("in.feature"), case.input("in.descriptor"))
    assert len(maps) == 8
    case.check_all({f"out.rc{i}": m for i, m in enumerate(maps)})
