"""Every network of the per-frame path with the golden recipe weights (same shapes and cost as the real checkpoints).

The weights come from tests/support/golden.py (`network_state_dict`); the inputs are the golden
end-to-end case's source portrait and 3DMM coefficient sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from styleheat_core.models.calibrator import CalibrationNet
from styleheat_core.models.deep3d import Deep3DReconNet
from styleheat_core.models.e4e import Encoder4Editing
from styleheat_core.models.hfgi import ResidualAligner, ResidualEncoder
from styleheat_core.models.stylegan2 import Generator
from styleheat_core.models.warper import VideoWarper
from styleheat_core.pipeline.forward import MotionNetworks
from styleheat_core.pipeline.inversion import EncoderNetworks

from .golden import GoldenCase, network_state_dict


@dataclass
class Networks:
    """StyleGAN2 1024, the inversion encoders (e4e + HFGI), the motion networks (warper + calibrator) and Deep3D."""

    generator: Generator
    encoders: EncoderNetworks
    motion: MotionNetworks
    deep3d: nn.Module

    def to(self, device: torch.device, dtype: torch.dtype) -> Networks:
        """Moved and cast in place (no second copy of the weights); returns self."""
        for net in (self.generator, self.encoders, self.motion, self.deep3d):
            net.to(device, dtype)
        return self


def _loaded(module: nn.Module, network: str, drop: tuple[str, ...] = ()) -> nn.Module:
    module.load_state_dict({k: v for k, v in network_state_dict(network).items() if k not in drop}, strict=True)
    return module.eval().requires_grad_(False)


def recipe_networks() -> Networks:
    """All networks in fp32 on the CPU (the recipe's state-dict cache is cleared: only the modules hold weights)."""
    encoders = EncoderNetworks(
        e4e=_loaded(Encoder4Editing(50, "ir_se", 1024), "e4e", drop=("latent_avg",)),
        latent_avg=network_state_dict("e4e")["latent_avg"],
        aligner=_loaded(ResidualAligner(), "hfgi_aligner"),
        residual_encoder=_loaded(ResidualEncoder(), "hfgi_encoder"),
    )
    motion = MotionNetworks(_loaded(VideoWarper(), "video_warper"), _loaded(CalibrationNet(64, 512, 512, 2, 1), "calibrator"))
    nets = Networks(_loaded(Generator(1024, 512, 8, channel_multiplier=2), "stylegan2"), encoders, motion, _loaded(Deep3DReconNet(), "deep3d"))
    network_state_dict.cache_clear()
    return nets


def recipe_inputs(frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Source (1,3,1024,1024) in [-1,1] and a (frames, 73) coefficient sequence (the golden 20 rows, cycled)."""
    case = GoldenCase.load("end_to_end")
    source = (case.input("in.source_u8").permute(2, 0, 1).float() / 127.5 - 1.0).unsqueeze(0)
    coefficients = case.input("in.coeff_sequence")
    index = torch.arange(frames) % coefficients.shape[0]
    return source, coefficients[index]
