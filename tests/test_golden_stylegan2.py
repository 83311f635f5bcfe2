"""StyleGAN2 generator against the official outputs (README §5.1): plain, all hooks, HFGI decode, warp pass, mapping."""

import pytest
import torch

from styleheat_core.models.calibrator import refinement_from_official
from styleheat_core.models.flow import flow_to_grid
from styleheat_core.models.modulation import FeatureModulation
from styleheat_core.models.stylegan2 import Generator
from tests.support.golden import GoldenCase, network_state_dict

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def generator() -> Generator:
    g = Generator(1024, 512, 8, channel_multiplier=2)
    g.load_state_dict(network_state_dict("stylegan2"), strict=True)
    return g.eval()


@pytest.fixture(scope="module")
def case() -> GoldenCase:
    return GoldenCase.load("stylegan2")


def _refining(case: GoldenCase) -> list[torch.Tensor]:
    names = sorted((n for n in case.meta["inputs"] if n.startswith("in.b.refining_")), key=lambda n: int(n.rsplit("_", 1)[1]))
    return [case.input(n) for n in names]


@torch.no_grad()
def test_plain_synthesis(generator, case):
    out = generator(case.input("in.w_plus"))
    case.check_all({"out.a.image": out.image, "out.a.f_latent": out.f_latent}, prefix="out.a.")


@torch.no_grad()
def test_all_hooks_in_official_order(generator, case):
    condition = FeatureModulation(case.input("in.b.inversion_scale"), case.input("in.b.inversion_shift"))
    grid = flow_to_grid(case.input("in.b.flow"))
    out = generator(
        case.input("in.w_plus"),
        inversion_condition=condition,
        f_condition=case.input("in.b.f_condition"),
        grids=[grid],
        refinement=refinement_from_official(_refining(case)),
    )
    case.check_all({"out.b.image": out.image, "out.b.f_latent": out.f_latent, "out.b.grid": grid}, prefix="out.b.")


@torch.no_grad()
def test_hfgi_decode_and_warp_passes(generator, case):
    condition = FeatureModulation(case.input("in.b.inversion_scale"), case.input("in.b.inversion_shift"))
    decode = generator(case.input("in.w_plus"), inversion_condition=condition)
    case.check_all({"out.b_inv.image": decode.image, "out.b_inv.f_latent": decode.f_latent}, prefix="out.b_inv.")
    warped = generator(case.input("in.w_plus"), inversion_condition=condition, grids=[flow_to_grid(case.input("in.b.flow"))])
    case.check_all({"out.b_warp.image": warped.image}, prefix="out.b_warp.")


@torch.no_grad()
def test_mapping_network(generator, case):
    case.check_all({"out.c.w": generator.get_latent(case.input("in.c.z"))}, prefix="out.c.")
