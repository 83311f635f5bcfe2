"""Wav2Lip's audio encoder as SadTalker reuses it: an 80x16 mel window -> a 512-d embedding.

Both SadTalker audio networks hold a copy (keys `<n>.conv_block.0` conv, `<n>.conv_block.1` BN).
"""

from __future__ import annotations

import torch
from torch import nn

MEL_BINS = 80
SADTALKER_WINDOW = 16
AUDIO_EMBEDDING = 512

# (in, out, kernel, stride, padding, residual) of the 13 blocks: 80x16 -> 27x16 -> 9x6 -> 3x3 -> 1x1.
_BLOCKS = (
    (1, 32, 3, 1, 1, False),
    (32, 32, 3, 1, 1, True),
    (32, 32, 3, 1, 1, True),
    (32, 64, 3, (3, 1), 1, False),
    (64, 64, 3, 1, 1, True),
    (64, 64, 3, 1, 1, True),
    (64, 128, 3, 3, 1, False),
    (128, 128, 3, 1, 1, True),
    (128, 128, 3, 1, 1, True),
    (128, 256, 3, (3, 2), 1, False),
    (256, 256, 3, 1, 1, True),
    (256, 512, 3, 1, 0, False),
    (512, 512, 1, 1, 0, False),
)


class ConvBlock(nn.Module):
    """Conv2d -> BatchNorm2d (-> + input) -> ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride, padding: int, residual: bool = False):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout))
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        return torch.relu(out + x if self.residual else out)


def wav2lip_audio_encoder() -> nn.Sequential:
    """The 13-block encoder: (N, 1, 80, 16) -> (N, 512, 1, 1)."""
    return nn.Sequential(*(ConvBlock(*spec) for spec in _BLOCKS))


def check_mel_windows(mels: torch.Tensor) -> None:
    """Raise a clear error unless `mels` is (B, T, 1, 80, 16) or (B, T, 80, 16)."""
    if mels.dim() not in (4, 5) or tuple(mels.shape[-2:]) != (MEL_BINS, SADTALKER_WINDOW) or (mels.dim() == 5 and mels.shape[2] != 1):
        raise ValueError(f"mel windows must have shape (B, T, 1, {MEL_BINS}, {SADTALKER_WINDOW}); got {tuple(mels.shape)}")
