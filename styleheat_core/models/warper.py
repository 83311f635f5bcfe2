"""Motion networks: 3DMM (VideoWarper) or mel (AudioWarper) windows -> 64x64 flow over the 256² source.

PIRenderer's mapping net turns a coefficient window into a descriptor; its ADAIN hourglass turns
the source image and the descriptor into a flow in pixels of the 64x64 grid.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .flow import flow_to_grid, warp
from .ops import cpu_layout
from .pirender import DESCRIPTOR_NC, PIRENDER_SLOPE, ADAINHourglass, LayerNorm2d

COEFF_NC = 73
MEL_NC = 80


class MotionOutput(NamedTuple):
    """Flow (B,2,64,64) in pixels of the 64 grid (x first) and the descriptor (B,256,1)."""

    flow: torch.Tensor
    descriptor: torch.Tensor


class MappingNet(nn.Module):
    """Conv1d k7 then `layers` residual dilated Conv1d (k3, dilation 3), average-pooled over time.

    The k7 conv and every dilated conv each shorten the window by 6 (27 -> 21 -> 15 -> 9 -> 3 for
    3DMM windows, 32 -> 26 -> 20 -> 14 -> 8 for mel windows), so a window needs at least
    6 * (layers + 1) + 1 steps.
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
        channels = self.first[0].in_channels
        if window.dim() != 3 or window.shape[1] != channels or window.shape[2] < self.min_window:
            raise ValueError(f"motion window must have shape (B, {channels}, T) with T >= {self.min_window}; got {tuple(window.shape)}")
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
        """The flow (B, 2, H, W); on the CPU the hourglass runs channels_last (oneDNN's fast layout)."""
        return self.flow_out(self.hourglass(cpu_layout(image), descriptor))


def _check_image(image: torch.Tensor) -> None:
    if image.dim() != 4 or image.shape[1] != 3 or image.shape[2] % 32 or image.shape[3] % 32:
        raise ValueError(
            f"warper input must be a (B, 3, H, W) image in [-1, 1] with H and W multiples of 32 (256 x 256 as trained); got {tuple(image.shape)}"
        )


def warp_image_with_flow(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Warp `image` by a pixel flow: its grid is bilinearly resized to the image first (the official `warp_image`)."""
    return warp(image, flow_to_grid(flow))


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

    Officially it runs on the video-warped frame resized to 256² and its flow is applied after the
    video flow. The upper half of the flow (rows 0-31 of 64) is zeroed, as the official "trick
    flow" does, so audio only moves the lower face; the zeroed rows pass no gradient. No official
    weights were released.
    """

    def __init__(self, mel_channels: int = MEL_NC):
        super().__init__()
        self.audio_encoder = MappingNet(mel_channels)
        self.warpping_net = WarpingNet()

    def forward(self, image: torch.Tensor, mel_window: torch.Tensor) -> MotionOutput:
        _check_image(image)
        descriptor = self.audio_encoder(mel_window)
        flow = self.warpping_net(image, descriptor)
        upper_half = torch.arange(flow.shape[2], device=flow.device) < flow.shape[2] // 2
        return MotionOutput(flow.masked_fill(upper_half[:, None], 0), descriptor)
