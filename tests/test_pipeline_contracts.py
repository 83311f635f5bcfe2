"""Contracts between pipeline modules: mixed loader precisions, motion composition, one model load per node, inversion kinds."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from styleheat_core.audio.frames import STYLEHEAT_WINDOW, MelFrames
from styleheat_core.editing.directions import apply_interfacegan
from styleheat_core.models.calibrator import CalibrationNet
from styleheat_core.models.flow import flow_to_grid, warp
from styleheat_core.models.stylegan2 import Generator
from styleheat_core.models.warper import AudioWarper, VideoWarper
from styleheat_core.pipeline.audio_motion import LipMotion
from styleheat_core.pipeline.decode import WarpedFeatures, decode_chunks
from styleheat_core.pipeline.forward import MotionNetworks
from styleheat_core.pipeline.handles import LocalModel
from styleheat_core.pipeline.inversion import EncoderNetworks, OptimizedInversion, invert, stack_inversions
from styleheat_core.pipeline.motion import CoefficientMotion, frame_motion
from styleheat_core.pipeline.source import ScheduledEdit, SourceLatent
from styleheat_core.preprocess.semantics import semantic_windows
from tests.support.golden import GoldenCase, network_state_dict
from tests.support.pack import node, pack, results

FRAMES = 3
PRECISIONS = (torch.float32, torch.bfloat16)


class TinyE4E(nn.Module):
    """e4e's contract: a 256² image -> W+ offsets (B, n_latent, 512)."""

    def __init__(self, n_latent: int):
        super().__init__()
        self.n_latent = n_latent
        self.to_codes = nn.Linear(3 * 4 * 4, n_latent * 512)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.to_codes(F.adaptive_avg_pool2d(image, 4).flatten(1)).view(-1, self.n_latent, 512)


class TinyResidualEncoder(nn.Module):
    """HFGI's residual encoder contract: aligned residual (B,3,256,256) -> (scale, shift), each (B,512,64,64)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1024, 4, stride=4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale, shift = (0.1 * self.conv(x)).chunk(2, dim=1)
        return scale, shift


@pytest.fixture(scope="module")
def networks():
    torch.manual_seed(0)
    generator = Generator(64, 512, 2, channel_multiplier=2).eval()  # the smallest StyleGAN2 with the 64x64 feature layer
    encoders = EncoderNetworks(TinyE4E(generator.n_latent), torch.randn(generator.n_latent, 512) * 0.1, nn.Conv2d(6, 3, 3, padding=1), TinyResidualEncoder())
    video_warper, calibrator = VideoWarper(), CalibrationNet(64, 512, 512, 2, 1)
    video_warper.load_state_dict(network_state_dict("video_warper"), strict=True)
    calibrator.load_state_dict(network_state_dict("calibrator"), strict=True)
    motion = MotionNetworks(video_warper, calibrator).eval()
    portrait = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(1)) * 2 - 1
    coefficients = GoldenCase.load("end_to_end").input("in.coeff_sequence")[:FRAMES]
    return generator, encoders.eval(), motion, portrait, coefficients


def _render(generator: nn.Module, encoders: nn.Module, motion: nn.Module, portrait: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """Invert, edit (every frame re-decoded), drive and decode with each network in its own dtype."""
    gen, enc, mot = LocalModel(generator), LocalModel(encoders), LocalModel(motion)
    direction = torch.randn(1, 512, generator=torch.Generator().manual_seed(2))
    latent = SourceLatent(invert(generator, encoders, portrait), gen, enc).with_edit(ScheduledEdit("d", lambda w, s: apply_interfacegan(w, direction, s), 0.5))
    features = WarpedFeatures(latent, CoefficientMotion(mot, coefficients), mot)
    return torch.cat(list(decode_chunks(generator, features, 256, 2)))


@pytest.mark.slow
def test_every_combination_of_loader_precisions_runs(networks):
    generator, encoders, motion, portrait, coefficients = networks
    reference = _render(generator, encoders, motion, portrait, coefficients)
    for gen_dtype, enc_dtype, motion_dtype in itertools.product(PRECISIONS, repeat=3):
        if gen_dtype == enc_dtype == motion_dtype == torch.float32:
            continue
        try:
            frames = _render(generator.to(gen_dtype), encoders.to(enc_dtype), motion.to(motion_dtype), portrait, coefficients)
        finally:
            for net in (generator, encoders, motion):
                net.float()
        label = f"stylegan {gen_dtype}, encoder {enc_dtype}, motion {motion_dtype}"
        assert frames.dtype == torch.float32 and frames.shape == (FRAMES, 256, 256, 3), label
        error = ((frames - reference).norm() / reference.norm()).item()
        assert error < 0.05, f"{label}: relative error {error:.4f} vs float32"


@torch.no_grad()
def test_lip_flow_is_predicted_on_the_result_of_the_earlier_motion(networks):
    """LipMotion against the official order written out with raw module calls (StyleHEAT.forward with an audio warper)."""
    generator, _, motion, portrait, coefficients = networks
    torch.manual_seed(3)
    audio_warper = AudioWarper().eval()
    source = OptimizedInversion(torch.randn(1, generator.n_latent, 512), torch.randn(1, 512, 64, 64), portrait)
    mel = MelFrames((torch.rand(80, 4 * FRAMES + 40) * 8 - 4).numpy(), FRAMES, 25.0)
    gen, mot = LocalModel(generator), LocalModel(motion)
    lips = LipMotion(CoefficientMotion(mot, coefficients), gen, LocalModel(audio_warper), mel)
    frames = list(range(FRAMES))
    composed = frame_motion(lips, source, frames)

    windows = semantic_windows(coefficients, frames)
    video = motion.video_warper(portrait.expand(FRAMES, -1, -1, -1), windows)
    video_grid = flow_to_grid(video.flow)
    w_plus = source.w_plus.expand(FRAMES, -1, -1)
    warped_image = F.interpolate(generator(w_plus, grids=[video_grid]).image, size=(256, 256), mode="bilinear", align_corners=False)
    audio_grid = flow_to_grid(audio_warper(warped_image, mel.windows(STYLEHEAT_WINDOW, 0, FRAMES)).flow)
    torch.testing.assert_close(composed.grids[0], video_grid, rtol=0, atol=0)
    torch.testing.assert_close(composed.grids[1], audio_grid, rtol=0, atol=1e-6)
    torch.testing.assert_close(composed.descriptor, video.descriptor, rtol=0, atol=0)

    refinement = motion.calibrator.refinement(warp(warp(source.feature.expand(FRAMES, -1, -1, -1), video_grid), audio_grid), video.descriptor)
    expected = generator(w_plus, f_condition=source.feature, grids=[video_grid, audio_grid], refinement=refinement).image
    decoded = torch.cat(list(decode_chunks(generator, WarpedFeatures(SourceLatent(source, gen, None), lips, mot), 256, FRAMES)))
    expected_image = ((F.interpolate(expected.clamp(-1, 1), size=(256, 256), mode="area") + 1) / 2).permute(0, 2, 3, 1)
    torch.testing.assert_close(decoded, expected_image, rtol=0, atol=1e-5)


def test_decode_loads_every_network_it_needs_in_one_call(networks, monkeypatch):
    generator, encoders, motion, portrait, coefficients = networks
    comfy = pack().nodes.comfy
    calls = []
    monkeypatch.setattr(comfy, "model_management", SimpleNamespace(load_models_gpu=lambda patchers: calls.append(list(patchers)), throw_exception_if_processing_interrupted=lambda: None))
    monkeypatch.setattr(comfy, "comfy_utils", None)
    stylegan, encoder, motion_models = (comfy.ManagedModel(net, patcher=name) for net, name in ((generator, "stylegan"), (encoders, "encoder"), (motion, "motion")))
    (latent, _) = results(node("StyleHEAT_Invert").run(stylegan, encoder, (portrait.permute(0, 2, 3, 1) + 1) / 2, 0))
    assert calls == [["stylegan", "encoder"]]
    (edited,) = node("StyleHEAT_StyleDirection").run(latent, "direction input", 1.0, False, "", pack().nodes.types.LatentDirection(torch.ones(1, 512) * 0.01, "test"))
    track = pack().nodes.types.CoefficientTrack(coefficients)
    (flow,) = node("StyleHEAT_VideoFlow").run(motion_models, track)
    (features,) = node("StyleHEAT_WarpFeatures").run(edited, flow)
    (calibrated,) = node("StyleHEAT_Calibrate").run(features, motion_models)
    calls.clear()
    frames, _, _ = node("StyleHEAT_StyleGANDecode").run(stylegan, calibrated, "256", 2, 25.0)
    assert calls == [["stylegan", "encoder", "motion"]]  # the edit re-decodes with the encoders: loaded in the same call
    assert frames.shape == (FRAMES, 256, 256, 3)


def test_inversion_kinds_do_not_mix(networks):
    generator, encoders, _, portrait, _ = networks
    encoded = invert(generator, encoders, portrait)
    optimized = OptimizedInversion(encoded.w_plus, encoded.feature, encoded.image256)
    assert optimized.condition is None
    with pytest.raises(ValueError, match="different kinds"):
        stack_inversions([encoded, optimized])
    with pytest.raises(ValueError, match="refine_steps to 0"):
        SourceLatent(optimized, LocalModel(generator), None).with_edit(ScheduledEdit("d", lambda w, s: w + s, 1.0))
