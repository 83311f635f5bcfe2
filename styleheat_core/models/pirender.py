"""PIRenderer building blocks used by StyleHEAT's warpers and calibrator (official key names).

ADAIN normalises a feature map per instance (no affine, no running stats) and re-styles it with
(1 + gamma, beta) predicted from a motion descriptor. The forwards compute what the official ones
do with fewer passes over the activations: ADAIN's normalisation and re-styling in one batch-norm
kernel and the activation that follows it in place; convolutions through `ops.conv2d` (Winograd or
oneDNN-fused on the CPU). Activations keep the layout they come in: channels_last on the CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .ops import conv2d

PIRENDER_SLOPE = 0.1  # leaky ReLU slope of every PIRenderer part
DESCRIPTOR_NC = 256  # width of the motion descriptor that drives every ADAIN


class LayerNorm2d(nn.Module):
    """Layer norm over (C, H, W) with per-channel affine parameters of shape (C, 1, 1)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[1:]
        return F.layer_norm(x, shape, self.weight.expand(shape), self.bias.expand(shape))


class ADAIN(nn.Module):
    """Instance norm re-styled by a descriptor: norm(x) * (1 + gamma(z)) + beta(z)."""

    def __init__(self, channels: int, descriptor_nc: int, hidden: int = 128):
        super().__init__()
        self.param_free_norm = nn.InstanceNorm2d(channels, eps=1e-5, affine=False, track_running_stats=False)
        self.mlp_shared = nn.Sequential(nn.Linear(descriptor_nc, hidden), nn.ReLU())
        self.mlp_gamma = nn.Linear(hidden, channels)
        self.mlp_beta = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor, descriptor: torch.Tensor, negative_slope: float | None = None) -> torch.Tensor:
        """norm(x) * (1 + gamma) + beta, then leaky_relu(negative_slope) if given, in x's memory format.

        A batch norm in training mode over one sample's channels is this instance norm, and it applies
        (1 + gamma, beta) in the same kernel. NCHW input is normalised as one (1, B*C, H, W) view;
        channels_last input (the CPU layout) sample by sample into one channels_last output, so the
        convolutions around it need no reorder. The activation runs in place.
        """
        hidden = self.mlp_shared(descriptor.reshape(descriptor.shape[0], -1))
        scale, shift = 1 + self.mlp_gamma(hidden), self.mlp_beta(hidden)
        eps = self.param_free_norm.eps
        if _channels_last(x) and not torch.is_grad_enabled():
            out = torch.empty_like(x)
            mean, invstd = x.new_empty(2, x.shape[1])
            for i in range(x.shape[0]):
                torch.native_batch_norm(x[i : i + 1], scale[i], shift[i], None, None, True, 0.0, eps, out=(out[i : i + 1], mean, invstd))
        else:
            batch, channels, height, width = x.shape
            flat = x.contiguous().view(1, batch * channels, height, width)
            out = F.batch_norm(flat, None, None, scale.reshape(-1), shift.reshape(-1), training=True, momentum=0.0, eps=eps).view(x.shape)
        return out if negative_slope is None else F.leaky_relu_(out, negative_slope)


def _channels_last(x: torch.Tensor) -> bool:
    """Whether a 4-d tensor is stored channels_last (and not also NCHW, as 1x1 maps are)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


class ADAINEncoderBlock(nn.Module):
    """ADAIN -> act -> 4x4 stride-2 conv -> ADAIN -> act -> 3x3 conv."""

    def __init__(self, in_nc: int, out_nc: int, descriptor_nc: int, activation: nn.Module):
        super().__init__()
        self.conv_0 = nn.Conv2d(in_nc, out_nc, kernel_size=4, stride=2, padding=1)
        self.conv_1 = nn.Conv2d(out_nc, out_nc, kernel_size=3, stride=1, padding=1)
        self.norm_0 = ADAIN(in_nc, descriptor_nc)
        self.norm_1 = ADAIN(out_nc, descriptor_nc)
        self.actvn = activation

    def forward(self, x: torch.Tensor, descriptor: torch.Tensor) -> torch.Tensor:
        slope = self.actvn.negative_slope
        x = conv2d(self.norm_0(x, descriptor, slope), self.conv_0.weight, self.conv_0.bias, stride=2, padding=1)
        return conv2d(self.norm_1(x, descriptor, slope), self.conv_1.weight, self.conv_1.bias, padding=1)


class ADAINDecoderBlock(nn.Module):
    """Residual 2x upsampling block: transposed-conv main path plus a transposed-conv shortcut."""

    def __init__(self, in_nc: int, out_nc: int, hidden_nc: int, descriptor_nc: int, activation: nn.Module):
        super().__init__()
        self.actvn = activation
        self.conv_0 = nn.Conv2d(in_nc, hidden_nc, kernel_size=3, stride=1, padding=1)
        self.conv_1 = nn.ConvTranspose2d(hidden_nc, out_nc, kernel_size=3, stride=2, padding=1, output_padding=1)
        self.conv_s = nn.ConvTranspose2d(in_nc, out_nc, kernel_size=3, stride=2, padding=1, output_padding=1)
        self.norm_0 = ADAIN(in_nc, descriptor_nc)
        self.norm_1 = ADAIN(hidden_nc, descriptor_nc)
        self.norm_s = ADAIN(in_nc, descriptor_nc)

    def forward(self, x: torch.Tensor, descriptor: torch.Tensor) -> torch.Tensor:
        slope = self.actvn.negative_slope
        shortcut = self.conv_s(self.norm_s(x, descriptor, slope))
        dx = conv2d(self.norm_0(x, descriptor, slope), self.conv_0.weight, self.conv_0.bias, padding=1)
        return self.conv_1(self.norm_1(dx, descriptor, slope)).add_(shortcut)


class ADAINEncoder(nn.Module):
    """7x7 input conv then `layers` ADAIN encoder blocks; returns every resolution for the skips."""

    def __init__(self, image_nc: int, descriptor_nc: int, base_nc: int, max_nc: int, layers: int, activation: nn.Module):
        super().__init__()
        self.layers = layers
        self.input_layer = nn.Conv2d(image_nc, base_nc, kernel_size=7, stride=1, padding=3)
        for i in range(layers):
            in_nc, out_nc = min(base_nc * 2**i, max_nc), min(base_nc * 2 ** (i + 1), max_nc)
            setattr(self, f"encoder{i}", ADAINEncoderBlock(in_nc, out_nc, descriptor_nc, activation))

    def forward(self, x: torch.Tensor, descriptor: torch.Tensor) -> list[torch.Tensor]:
        out = conv2d(x, self.input_layer.weight, self.input_layer.bias, padding=3)
        features = [out]
        for i in range(self.layers):
            out = getattr(self, f"encoder{i}")(out, descriptor)
            features.append(out)
        return features


class ADAINDecoder(nn.Module):
    """ADAIN decoder blocks from the coarsest encoder level up, each concatenated with the encoder skip."""

    def __init__(self, descriptor_nc: int, base_nc: int, max_nc: int, encoder_layers: int, decoder_layers: int, activation: nn.Module):
        super().__init__()
        self.levels = list(range(encoder_layers - decoder_layers, encoder_layers))[::-1]
        for i in self.levels:
            in_nc = min(base_nc * 2 ** (i + 1), max_nc) * (1 if i == encoder_layers - 1 else 2)
            out_nc = min(base_nc * 2**i, max_nc)
            setattr(self, f"decoder{i}", ADAINDecoderBlock(in_nc, out_nc, out_nc, descriptor_nc, activation))
        self.output_nc = 2 * out_nc

    def forward(self, features: list[torch.Tensor], descriptor: torch.Tensor) -> torch.Tensor:
        skips = list(features)
        out = skips.pop()
        for i in self.levels:
            out = torch.cat([getattr(self, f"decoder{i}")(out, descriptor), skips.pop()], dim=1)
        return out


class ADAINHourglass(nn.Module):
    """Encoder-decoder whose every normalisation is driven by the motion descriptor."""

    def __init__(self, image_nc: int, descriptor_nc: int, base_nc: int, max_nc: int, encoder_layers: int, decoder_layers: int, activation: nn.Module):
        super().__init__()
        self.encoder = ADAINEncoder(image_nc, descriptor_nc, base_nc, max_nc, encoder_layers, activation)
        self.decoder = ADAINDecoder(descriptor_nc, base_nc, max_nc, encoder_layers, decoder_layers, activation)
        self.output_nc = self.decoder.output_nc

    def forward(self, x: torch.Tensor, descriptor: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x, descriptor), descriptor)


class FineADAINResBlock2d(nn.Module):
    """x = act(ADAIN(conv1(x))); out = ADAIN(conv2(x)) + x, with leaky ReLU slope 0.01 as official."""

    def __init__(self, channels: int, descriptor_nc: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1)
        self.norm1 = ADAIN(channels, descriptor_nc)
        self.norm2 = ADAIN(channels, descriptor_nc)
        self.actvn = nn.LeakyReLU(0.01)

    def forward(self, x: torch.Tensor, descriptor: torch.Tensor) -> torch.Tensor:
        x = self.norm1(conv2d(x, self.conv1.weight, self.conv1.bias, padding=1), descriptor, self.actvn.negative_slope)
        return self.norm2(conv2d(x, self.conv2.weight, self.conv2.bias, padding=1), descriptor).add_(x)
