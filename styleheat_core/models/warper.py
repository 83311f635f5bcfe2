"""Motion networks: 3DMM (VideoWarper) or mel (AudioWarper) windows -> 64x64 flow over the 256² source.

PIRenderer's mapping net turns a coefficient window into a descriptor; its ADAIN hourglass turns
the source image and the descriptor into a flow in pixels of the 64x64 grid.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .pirender import PIRENDER_SLOPE, ADAINHourglass, LayerNorm2d

DESCRIPTOR_NC = 256
COEFF_NC = 73
MEL_NC = 80
AUDIO_FLOW_FROZEN_ROWS = 32


class MotionOutput(NamedTuple):
    """Flow (B,2,64,64) in pixels of the 64 grid (x first) and the descriptor (B,256,1)."""

    flow: torch.Tensor
    descriptor: torch.Tensor


class MappingNet(nn.Module):
    """Conv1d k7 then `layers` residual dilated Conv1d (k3, dilation 3), average-pooled over time.

    Each dilated conv shortens the window by 6, so a window must be longer than 6 * (layers + 1).
    """

    def __init__(self, coeff_nc: int, descriptor_nc: int = DESCRIPTOR_NC, layers: int = 3):
        super().__init__()
        self.layers = layers
        self.first = nn.Sequential(nn.Conv1d(coeff_nc, descriptor_nc, kernel_size=7, padding=0))
        activation = nn.LeakyReLU(PIRENDER_SLOPE)
        for i in range(layers):
            setattr(self, f"encoder{i}", nn.Sequential(activation, nn.Conv1d(descriptor_nc, descriptor_nc, kernel_size=3, padding=0, dilation=3)))
        self.pooling = nn.AdaptiveAvgPool1d(1)
        self.min_window = 6 * (layers + 1) + 1

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        if window.dim() != 3 or window.shape[-1] < self.min_window:
            raise ValueError(
                f"motion window must have shape (B, {self.first[0].in_channels}, T) with T >= {self.min_window}; got {tuple(window.shape)}"
            )
        out = self.first(window)
        for i in range(self.layers):
            out = getattr(self, f"encoder{i}")(out) + out[:, :, 3:-3]
        return self.pooling(out)


class WarpingNet(nn.Module):
    """ADAIN hourglass on the 256² image, then LayerNorm2d -> act -> 7x7 conv to a 2-channel flow."""

    def __init__(self, image_nc: int = 3, descriptor_nc: int = DESCRIPTOR_NC, base_nc: int = 32, max_nc: int = 256, encoder_layers: int = 5, decoder_layers: int = 3):
        super().__init__()
        activation = nn.LeakyReLU(PIRENDER_SLOPE)
        self.hourglass = ADAINHourglass(image_nc, descriptor_nc, base_nc, max_nc, encoder_layers, decoder_layers, activation)
        channels = self.hourglass.output_nc
        self.flow_out = nn.Sequential(LayerNorm2d(channels), activation, nn.Conv2d(channels, 2, kernel_size=7, stride=1, padding=3))

    def forward(self, image: torch.Tensor, descriptor: torch.Tensor) -> torch.Tensor:
        return self.flow_out(self.hourglass(image, descriptor))


def _check_image(image: torch.Tensor) -> None:
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"warper input must be a (B, 3, 256, 256) image in [-1, 1]; got {tuple(image.shape)}")


class VideoWarper(nn.Module):
    """73x27 3DMM window (exp 64, angle 3, trans 3, crop s, tx, ty) -> flow (official keys mapping_net/warping_net)."""

    def __init__(self):
        super().__init__()
        self.mapping_net = MappingNet(COEFF_NC)
        self.warping_net = WarpingNet()

    def forward(self, image: torch.Tensor, window: torch.Tensor) -> MotionOutput:
        _check_image(image)
        descriptor = self.mapping_net(window)
        return MotionOutput(self.warping_net(image, descriptor), descriptor)


class AudioWarper(nn.Module):
    """The paper's audio warper: an 80x32 mel window -> lower-face flow (keys audio_encoder/warpping_net, sic).

    The upper half of the flow (rows < 32 of 64) is zeroed, as the official code does, so audio
    only moves the mouth region. No official weights were released.
    """

    def __init__(self):
        super().__init__()
        self.audio_encoder = MappingNet(MEL_NC)
        self.warpping_net = WarpingNet()

    def forward(self, image: torch.Tensor, mel_window: torch.Tensor) -> MotionOutput:
        _check_image(image)
        descriptor = self.audio_encoder(mel_window)
        flow = self.warpping_net(image, descriptor)
        keep = torch.ones_like(flow)
        keep[:, :, :AUDIO_FLOW_FROZEN_ROWS] = 0
        return MotionOutput(flow * keep, descriptor)
