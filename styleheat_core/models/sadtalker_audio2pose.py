"""SadTalker's audio-to-head-pose CVAE (Audio2Pose, `auido2pose.yaml`), with the official key names.

At test time only the decoder runs: per 32-frame chunk, noise z plus a per-style bias, the
reference pose and the audio embeddings give 32 pose offsets (3 angles, 3 translations). The CVAE
encoder and the motion discriminator exist only so that the official files load strictly.
"""

from __future__ import annotations

import torch
from torch import nn

from .sadtalker_resunet import ResUnet
from .wav2lip_audio import AUDIO_EMBEDDING, MEL_BINS, SADTALKER_WINDOW, check_mel_windows, wav2lip_audio_encoder

SEQ_LEN = 32
LATENT_SIZE = 64
NUM_POSE_STYLES = 46
POSE_DIM = 6
AUDIO_EMB_OUT = 6
ENCODER_LAYERS = (192, 128)
DECODER_LAYERS = (128, 192)


class AudioEncoder(nn.Module):
    """Wav2Lip audio encoder applied to each window of a sequence: (B, T, 1, 80, 16) -> (B, T, 512)."""

    def __init__(self):
        super().__init__()
        self.audio_encoder = wav2lip_audio_encoder()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        check_mel_windows(mels)
        batch, frames = mels.shape[:2]
        return self.audio_encoder(mels.reshape(-1, 1, MEL_BINS, SADTALKER_WINDOW)).reshape(batch, frames, AUDIO_EMBEDDING)


def _mlp(sizes: tuple[int, ...], last: nn.Module | None) -> nn.Sequential:
    """Linear layers L0, L1, ... with ReLU between (A0, ...) and `last` (named `sigmoid`) after the final one."""
    mlp = nn.Sequential()
    for i, (cin, cout) in enumerate(zip(sizes[:-1], sizes[1:])):
        mlp.add_module(f"L{i}", nn.Linear(cin, cout))
        if i + 2 < len(sizes) or last is None:
            mlp.add_module(f"A{i}", nn.ReLU())
    if last is not None:
        mlp.add_module("sigmoid", last)
    return mlp


class PoseEncoder(nn.Module):
    """The CVAE encoder (training only). Its first layer takes 192 + 64 + 32*6 + 6 = 454 inputs, as the official config mutation gives."""

    def __init__(self):
        super().__init__()
        self.resunet = ResUnet()
        self.MLP = _mlp((ENCODER_LAYERS[0] + LATENT_SIZE + SEQ_LEN * AUDIO_EMB_OUT + POSE_DIM, *ENCODER_LAYERS[1:]), None)
        self.linear_means = nn.Linear(ENCODER_LAYERS[-1], LATENT_SIZE)
        self.linear_logvar = nn.Linear(ENCODER_LAYERS[-1], LATENT_SIZE)
        self.linear_audio = nn.Linear(AUDIO_EMBEDDING, AUDIO_EMB_OUT)
        self.classbias = nn.Parameter(torch.randn(NUM_POSE_STYLES, LATENT_SIZE))


class PoseDecoder(nn.Module):
    """(z + class bias, reference pose, 32 audio embeddings) -> 32 pose offsets."""

    def __init__(self):
        super().__init__()
        self.resunet = ResUnet()
        self.MLP = _mlp((LATENT_SIZE + SEQ_LEN * AUDIO_EMB_OUT + POSE_DIM, *DECODER_LAYERS), nn.Sigmoid())
        self.pose_linear = nn.Linear(POSE_DIM, POSE_DIM)
        self.linear_audio = nn.Linear(AUDIO_EMBEDDING, AUDIO_EMB_OUT)
        self.classbias = nn.Parameter(torch.randn(NUM_POSE_STYLES, LATENT_SIZE))

    def forward(self, z: torch.Tensor, style: torch.Tensor, ref_pose: torch.Tensor, audio_emb: torch.Tensor) -> torch.Tensor:
        """z (B,64), style (B,) long, ref_pose (B,6), audio_emb (B,32,512) -> offsets (B,32,6)."""
        batch = z.shape[0]
        audio = self.linear_audio(audio_emb).reshape(batch, -1)
        hidden = self.MLP(torch.cat([ref_pose, z + self.classbias[style], audio], dim=-1))
        pose = self.resunet(hidden.reshape(batch, 1, SEQ_LEN, -1)).squeeze(1)
        return self.pose_linear(pose)


class CVAE(nn.Module):
    """Keys netG.encoder.* / netG.decoder.*."""

    def __init__(self):
        super().__init__()
        self.encoder = PoseEncoder()
        self.decoder = PoseDecoder()


def _conv_norm_relu(cin: int, cout: int, kernel: int, stride: int, padding: int) -> nn.Module:
    block = nn.Module()
    block.conv = nn.Conv1d(cin, cout, kernel, stride, padding, bias=False)
    block.norm = nn.BatchNorm1d(cout)
    return block


class PoseSequenceDiscriminator(nn.Module):
    """The motion discriminator of the official training (keys netD_motion.seq.*); present in the files, unused here."""

    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(
            _conv_norm_relu(POSE_DIM, 256, 4, 2, 1),
            _conv_norm_relu(256, 512, 4, 2, 1),
            _conv_norm_relu(512, 1024, 3, 1, 1),
            nn.Conv1d(1024, 1, kernel_size=3, stride=1, padding=1),
        )


class Audio2Pose(nn.Module):
    """Keys audio_encoder.audio_encoder.*, netG.*, netD_motion.*; `decode_chunk` is the test-time path."""

    def __init__(self):
        super().__init__()
        self.audio_encoder = AudioEncoder()
        self.netG = CVAE()
        self.netD_motion = PoseSequenceDiscriminator()

    def decode_chunk(self, mels: torch.Tensor, z: torch.Tensor, style: torch.Tensor, ref_pose: torch.Tensor) -> torch.Tensor:
        """32 windows (B,32,1,80,16) -> pose offsets (B,32,6) for noise z (B,64), style (B,) and ref_pose (B,6)."""
        if mels.shape[1] != SEQ_LEN:
            raise ValueError(f"audio2pose decodes chunks of {SEQ_LEN} mel windows; got {mels.shape[1]}")
        return self.netG.decoder(z, style, ref_pose, self.audio_encoder(mels))
