"""From a ComfyUI AUDIO input to what the motion networks take, frame-aligned at the video fps.

`audio_drive` gives the per-frame 73-d StyleHEAT semantics predicted by SadTalker (for the video
warper, through `preprocess.semantics.semantic_windows`) and the framed mel spectrogram whose 80x32
windows drive the AudioWarper. The frame count is ceil(duration * fps): the video covers the audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..progress import ProgressCallback, stage_callbacks
from .frames import REFERENCE_FPS, STYLEHEAT_WINDOW, MelFrames, frame_count, mel_frames
from .mel import MelVariant
from .sadtalker import PoseOptions, SadTalkerAudioNetworks, audio_coefficients, with_source_crop
from .waveform import Speech, speech_16k

MEL_SHARE = 16  # the spectrogram takes about 1/16 of the networks' time: its share of the progress bar


@dataclass(frozen=True)
class AudioDrive:
    """semantics: (T, 73) per-frame vectors; mel: the framed spectrogram (T frames); speech: the 16 kHz mono clip."""

    semantics: torch.Tensor
    mel: MelFrames
    speech: Speech

    @property
    def num_frames(self) -> int:
        """Video frames the audio spans at its fps."""
        return self.mel.num_frames


def audio_drive(
    nets: SadTalkerAudioNetworks,
    audio: Any,
    source_semantics: torch.Tensor,
    fps: float = REFERENCE_FPS,
    options: PoseOptions = PoseOptions(),
    variant: MelVariant = "legacy",
    progress: ProgressCallback | None = None,
) -> AudioDrive:
    """AUDIO dict + the source's 73-d vector -> SadTalker 70-d coefficients + the source crop, one per video frame.

    `progress(done, total)` follows the spectrogram and the networks' loops; it may raise to cancel.
    """
    speech = speech_16k(audio)
    frames = frame_count(len(speech.samples), fps)
    mel_progress, network_progress = stage_callbacks(progress, [frames // MEL_SHARE + 1, frames])
    mel = mel_frames(speech, fps, variant, progress=mel_progress)
    coeffs = audio_coefficients(nets, mel, torch.as_tensor(source_semantics).reshape(-1), options, progress=network_progress)
    return AudioDrive(with_source_crop(coeffs, source_semantics), mel, speech)


def warper_mel_windows(mel: MelFrames, start: int = 0, stop: int | None = None) -> torch.Tensor:
    """(N, 80, 32) AudioWarper windows of frames start..stop-1."""
    return mel.windows(STYLEHEAT_WINDOW, start, stop)
