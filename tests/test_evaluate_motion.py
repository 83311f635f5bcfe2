"""AED and APD against the Deep3D golden coefficients of the official code (recipe weights)."""

import numpy as np
import pytest
import torch

from styleheat_core.evaluate.motion_distance import expression_and_pose, frame_semantics, motion_distances
from styleheat_core.models.deep3d import Deep3DReconNet
from styleheat_core.preprocess.deep3d_align import standard_landmarks_5, to_network_input
from styleheat_core.preprocess.landmarks import Face
from styleheat_core.preprocess.semantics import semantic_vector
from tests.support.golden import GoldenCase, network_state_dict

pytestmark = pytest.mark.golden
TRANS_PARAMS = torch.tensor([256.0, 256.0, 1.0, 128.0, 128.0])


@pytest.fixture(scope="module")
def deep3d() -> Deep3DReconNet:
    net = Deep3DReconNet()
    net.load_state_dict(network_state_dict("deep3d"), strict=True)
    return net.eval()


class GoldenLandmarks:
    """A landmark backend that reports the landmarks stored with a golden frame."""

    identity = "golden"

    def __init__(self, points: np.ndarray):
        self.points = points

    def detect(self, image: np.ndarray) -> list[Face]:
        return [Face((0.0, 0.0, float(image.shape[1]), float(image.shape[0])), self.points)]


def test_expression_and_pose_are_the_official_coefficient_columns():
    case = GoldenCase.load("preprocess_3dmm")
    coeff257, coeff73 = case.input("in.coeff257"), case.tensors["out.coeff73"]
    expression, pose = expression_and_pose(coeff73)
    assert torch.equal(expression, coeff257[:, 80:144])
    assert torch.equal(pose, torch.cat([coeff257[:, 224:227], coeff257[:, 254:257]], dim=1))
    aed, apd = motion_distances(coeff73[:1], coeff73[1:])
    direct = coeff73.double().numpy()
    assert aed.item() == pytest.approx(np.abs(direct[0, :64] - direct[1, :64]).mean(), rel=1e-12)
    assert apd.item() == pytest.approx(np.abs(direct[0, 64:70] - direct[1, 64:70]).mean(), rel=1e-12)
    assert aed.item() > 0.1 and apd.item() > 0.01


def test_our_deep3d_coefficients_are_at_golden_distance_zero(deep3d):
    case = GoldenCase.load("deep3d")
    with torch.no_grad():
        ours = semantic_vector(deep3d(case.input("in.image")), TRANS_PARAMS)
    golden = semantic_vector(case.tensors["out.coeff"], TRANS_PARAMS)
    aed, apd = motion_distances(ours, golden)
    assert aed.item() <= 2e-5 and apd.item() <= 2e-5
    shifted = golden.clone()
    shifted[:, 3] += 0.64
    shifted[:, 65] -= 0.06
    aed, apd = motion_distances(shifted, golden)
    assert aed.item() == pytest.approx(0.64 / 64, rel=1e-6) and apd.item() == pytest.approx(0.06 / 6, rel=1e-5)


def test_a_frame_goes_through_the_official_deep3d_crop(deep3d):
    """frame -> landmarks -> Deep3D crop -> coefficients equals the network on the official crop of that frame."""
    case = GoldenCase.load("preprocess_3dmm")
    lm3d_5 = standard_landmarks_5(case.input("in.lm3d_68").numpy())
    frame = case.input("in.image0_u8").numpy()
    ours = frame_semantics(frame[None], deep3d, lm3d_5, GoldenLandmarks(case.input("in.landmarks0").numpy()))
    with torch.no_grad():
        coefficients = deep3d(to_network_input(case.tensors["out.crop0_u8"].permute(1, 2, 0).numpy()))
    expected = semantic_vector(coefficients, case.tensors["out.trans_params0"]).double()
    torch.testing.assert_close(ours, expected, rtol=0, atol=2e-5)


def test_a_frame_without_a_face_is_not_measured(deep3d):
    class NoFaces:
        identity = "none"

        def detect(self, image):
            return []

    lm3d_5 = standard_landmarks_5(GoldenCase.load("preprocess_3dmm").input("in.lm3d_68").numpy())
    semantics = frame_semantics(np.zeros((2, 64, 64, 3), dtype=np.uint8), deep3d, lm3d_5, NoFaces())
    assert semantics.shape == (2, 73) and torch.isnan(semantics).all()
    aed, apd = motion_distances(semantics, torch.zeros(2, 73, dtype=torch.float64))
    assert torch.isnan(aed).all() and torch.isnan(apd).all()
