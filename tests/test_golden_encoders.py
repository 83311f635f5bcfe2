"""e4e and HFGI networks against the official outputs (README §5.4, §5.5)."""

import pytest
import torch

from styleheat_core.models.e4e import Encoder4Editing, add_latent_avg
from styleheat_core.models.hfgi import ResidualAligner, ResidualEncoder
from tests.support.golden import GoldenCase, network_state_dict

pytestmark = pytest.mark.golden


@torch.no_grad()
def test_e4e_codes_and_w_plus():
    case = GoldenCase.load("e4e")
    encoder = Encoder4Editing(50, "ir_se", stylegan_size=1024)
    encoder.load_state_dict({k: v for k, v in network_state_dict("e4e").items() if k != "latent_avg"}, strict=True)
    codes = encoder.eval()(case.input("in.image"))
    case.check_all({"out.codes": codes, "out.w_plus": add_latent_avg(codes, case.input("in.latent_avg"))})


@torch.no_grad()
def test_hfgi_aligner_and_residual_encoder():
    case = GoldenCase.load("hfgi")
    aligner, encoder = ResidualAligner(), ResidualEncoder()
    aligner.load_state_dict(network_state_dict("hfgi_aligner"), strict=True)
    encoder.load_state_dict(network_state_dict("hfgi_encoder"), strict=True)
    scale, shift = encoder.eval()(case.input("in.encoder_input"))
    case.check_all({"out.res_aligned": aligner.eval()(case.input("in.aligner_input")), "out.scale": scale, "out.shift": shift})
