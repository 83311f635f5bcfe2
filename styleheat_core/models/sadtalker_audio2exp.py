"""SadTalker's audio-to-expression network (SimpleWrapperV2): a mel window per frame -> 64 expression coefficients."""

from __future__ import annotations

import torch
from torch import nn

from .wav2lip_audio import AUDIO_EMBEDDING, MEL_BINS, SADTALKER_WINDOW, check_mel_windows, wav2lip_audio_encoder

EXPRESSION_DIM = 64


class SimpleWrapperV2(nn.Module):
    """Wav2Lip audio encoder + `mapping1` Linear(512 + 64 + 1 -> 64) on [audio, reference expression, blink ratio].

    Each frame is computed on its own; the output is not a residual over the reference.
    """

    def __init__(self):
        super().__init__()
        self.audio_encoder = wav2lip_audio_encoder()
        self.mapping1 = nn.Linear(AUDIO_EMBEDDING + EXPRESSION_DIM + 1, EXPRESSION_DIM)

    def embed(self, mels: torch.Tensor) -> torch.Tensor:
        """(B, T, 1, 80, 16) windows -> (B*T, 512) audio features."""
        check_mel_windows(mels)
        return self.audio_encoder(mels.reshape(-1, 1, MEL_BINS, SADTALKER_WINDOW)).flatten(1)

    def forward(self, mels: torch.Tensor, ref_exp: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
        """Windows (B,T,1,80,16), reference expression (B,T,64), blink ratio (B,T,1) -> expression (B,T,64)."""
        batch, frames = mels.shape[:2]
        if ref_exp.shape != (batch, frames, EXPRESSION_DIM) or ratio.numel() != batch * frames:
            raise ValueError(
                f"audio2exp needs ref (B, T, {EXPRESSION_DIM}) and ratio (B, T, 1) for windows of {(batch, frames)}; "
                f"got ref {tuple(ref_exp.shape)} and ratio {tuple(ratio.shape)}"
            )
        features = torch.cat([self.embed(mels), ref_exp.reshape(-1, EXPRESSION_DIM), ratio.reshape(-1, 1).to(ref_exp)], dim=1)
        return self.mapping1(features).reshape(batch, frames, EXPRESSION_DIM)
