"""Optimisation inversion: the loss falls on recipe weights, early stop on a plateau, cancel via should_stop / ComfyUI."""

from itertools import pairwise
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from styleheat_core.editing.early_stop import EarlyStop, Plateau
from styleheat_core.editing.inversion_loss import InversionLoss, WPlusPCA
from styleheat_core.editing.optimize_inversion import optimize_inversion
from styleheat_core.models.modulation import FeatureModulation
from styleheat_core.models.stylegan2 import Generator
from styleheat_core.models.vgg19 import VGG19Features
from styleheat_core.pipeline.inversion import EncodedInversion, OptimizedInversion
from styleheat_core.pipeline.refine import refine_inversion
from tests.support.golden import GoldenCase, network_state_dict
from tests.support.pack import pack


class FlatGenerator(nn.Module):
    """A stand-in generator: a flat 1024² image whose value is the mean of the feature plus the W+ mean."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))
        self.calls = 0

    def forward(self, w_plus, f_condition):
        self.calls += 1
        value = f_condition.mean() + w_plus.mean() + self.anchor
        return SimpleNamespace(image=value.reshape(1, 1, 1, 1).expand(1, 3, 1024, 1024))


def mse_only(image, target, w_plus, feature, feature_init):
    loss = F.mse_loss(image, target)
    return loss, {"loss_l2": loss}


def constant_loss(image, target, w_plus, feature, feature_init):
    loss = F.mse_loss(image, target) * 0 + 1.0
    return loss, {"loss_l2": loss}


def _start():
    return torch.full((1, 3, 256, 256), 0.5), torch.zeros(1, 18, 512), torch.zeros(1, 8, 4, 4)


def test_plateau_counts_steps_without_enough_improvement():
    plateau = Plateau(EarlyStop(patience=2, min_relative_improvement=0.1))
    assert [plateau.update(x) for x in (10.0, 8.0, 7.5, 7.3, 7.0)] == [False, False, False, True, False]
    assert plateau.best == 7.0
    with pytest.raises(ValueError, match="patience"):
        EarlyStop(0)


def test_early_stop_ends_a_flat_run_and_spares_an_improving_one():
    flat = optimize_inversion(FlatGenerator(), *_start(), constant_loss, steps=50, early_stop=EarlyStop(patience=3))
    assert (flat.steps_run, flat.stop_reason) == (4, "plateau")
    losses = []
    improving = optimize_inversion(
        FlatGenerator(), *_start(), mse_only, steps=8, early_stop=EarlyStop(3, 0.01), on_step=lambda r: losses.append(float(r.loss))
    )
    assert (improving.steps_run, improving.stop_reason) == (8, "steps")
    assert losses[0] == pytest.approx(0.25) and all(b < 0.97 * a for a, b in pairwise(losses))


def test_should_stop_cancels_after_the_current_step():
    generator, seen = FlatGenerator(), []
    result = optimize_inversion(generator, *_start(), mse_only, steps=100, on_step=lambda r: seen.append(r.step), should_stop=lambda: len(seen) >= 3)
    assert (result.steps_run, result.stop_reason, generator.calls, seen) == (3, "cancelled", 3, [0, 1, 2])


def test_refinement_honours_comfyui_cancel_and_restores_the_generator(monkeypatch):
    comfy = pack().nodes.comfy

    class Interrupted(Exception):
        pass

    steps_seen = []
    management = SimpleNamespace(
        processing_interrupted=lambda: len(steps_seen) >= 2,
        throw_exception_if_processing_interrupted=lambda: (_ for _ in ()).throw(Interrupted()) if len(steps_seen) >= 2 else None,
    )
    monkeypatch.setattr(comfy, "model_management", management)
    generator = FlatGenerator().to(torch.float64)
    image, w_plus, feature = _start()
    zeros = torch.zeros_like(feature)
    inversion = EncodedInversion(w_plus.double(), feature.double(), FeatureModulation(zeros, zeros), image.double(), image.double())
    refined = refine_inversion(
        generator, inversion, image, mse_only, 20, on_step=lambda report: steps_seen.append(report.step + 1), should_stop=comfy.interrupt_requested
    )
    with pytest.raises(Interrupted):
        comfy.check_interrupted()
    assert steps_seen == [1, 2] and generator.calls == 2
    assert isinstance(refined, OptimizedInversion) and refined.w_plus.dtype == torch.float64
    assert generator.anchor.dtype == torch.float64  # the generator's precision is restored after the float32 optimisation


@pytest.mark.slow
def test_a_short_run_on_recipe_weights_reduces_the_reconstruction_loss():
    case = GoldenCase.load("optimize_inversion_step")
    generator, vgg = Generator(1024, 512, 8, channel_multiplier=2), VGG19Features()
    for name, network in (("stylegan2", generator), ("vgg19", vgg)):
        network.load_state_dict(network_state_dict(name), strict=True)
    loss = InversionLoss(vgg, WPlusPCA(*(case.input(f"in.X_{part}") for part in ("mean", "comp", "stdev"))))
    reports = []
    result = optimize_inversion(
        generator.eval(), case.input("in.image256"), case.input("in.w_plus"), case.input("in.f_init"), loss, steps=1, on_step=reports.append
    )
    with torch.no_grad():
        image = generator(result.w_plus, f_condition=result.feature).image
        target = F.interpolate(case.input("in.image256"), (1024, 1024), mode="bilinear", align_corners=False)
        after = F.mse_loss(image, target)
    before = reports[0].components["loss_l2"]
    case.check("out.step0.loss_l2", before)
    # The official step-1 loss is lower than step 0's; the returned inversion (feature updated, W+ as rendered) must be too.
    assert float(case.tensors["out.step1.loss_l2"]) < float(before) and float(after) < float(before)
