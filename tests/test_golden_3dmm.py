"""Deep3D regressor and the official 3DMM preprocessing (README §5.6, §5.8)."""

import numpy as np
import pytest
import torch

from styleheat_core.models.deep3d import Deep3DReconNet
from styleheat_core.preprocess.deep3d_align import align_for_deep3d, standard_landmarks_5
from styleheat_core.preprocess.semantics import semantic_vector
from tests.support.golden import GoldenCase, network_state_dict

pytestmark = pytest.mark.golden


@torch.no_grad()
def test_deep3d_coefficients():
    case = GoldenCase.load("deep3d")
    net = Deep3DReconNet()
    net.load_state_dict(network_state_dict("deep3d"), strict=True)
    case.check_all({"out.coeff": net.eval()(case.input("in.image"))})


def test_alignment_crop_and_semantic_vector():
    case = GoldenCase.load("preprocess_3dmm")
    lm3d_5 = standard_landmarks_5(case.input("in.lm3d_68").numpy())
    outputs = {"out.lm3d_5": torch.from_numpy(lm3d_5)}
    trans_params = []
    for i in (0, 1):
        aligned = align_for_deep3d(case.input(f"in.image{i}_u8").numpy(), case.input(f"in.landmarks{i}").numpy(), lm3d_5)
        outputs[f"out.crop{i}_u8"] = torch.from_numpy(aligned.crop).permute(2, 0, 1)
        outputs[f"out.lm{i}_224"] = torch.from_numpy(aligned.landmarks_224)
        outputs[f"out.trans_params{i}"] = torch.from_numpy(aligned.trans_params)
        trans_params.append(aligned.trans_params)
    outputs["out.coeff73"] = semantic_vector(case.input("in.coeff257"), torch.from_numpy(np.stack(trans_params)))
    case.check_all(outputs)
