"""SadTalker Audio2Coeff: mel windows -> 70 coefficients per frame (expression 64 | angles 3 | translation 3).

As the official `Audio2Coeff.generate` (HEAD cd4c046, numerically the eade625 code StyleHEAT calls,
plus its support for clips shorter than 33 frames): expression per frame from audio, reference
expression and a blink ratio; head pose from the CVAE decoder per 32-frame chunk (the remainder chunk
re-reads the last 32 windows), relative to the reference pose and Savitzky-Golay smoothed (window 13,
order 2; smaller for short clips). Frames are processed in bounded chunks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from scipy.signal import savgol_filter
from torch import nn

from ..models.sadtalker_audio2exp import EXPRESSION_DIM, SimpleWrapperV2
from ..models.sadtalker_audio2pose import LATENT_SIZE, NUM_POSE_STYLES, POSE_DIM, SEQ_LEN, Audio2Pose
from ..preprocess.semantics import SEMANTIC_DIM
from ..progress import ProgressCallback, report, stage_callbacks
from .frames import SADTALKER_WINDOW, MelFrames

COEFF_DIM = EXPRESSION_DIM + POSE_DIM
EXPRESSION_CHUNK = 64
SAVGOL_WINDOW = 13
SAVGOL_ORDER = 2
BLINK = (0.5, 0.9, 1.0, 0.9, 0.5)
BLINK_MIN_FRAMES = 21


class SadTalkerAudioNetworks(nn.Module):
    """SadTalker's audio2exp (SimpleWrapperV2) and audio2pose (Audio2Pose)."""

    def __init__(self, audio2exp: SimpleWrapperV2, audio2pose: Audio2Pose):
        super().__init__()
        self.audio2exp = audio2exp
        self.audio2pose = audio2pose


@dataclass(frozen=True)
class PoseOptions:
    """How the head moves.

    style: SadTalker pose style 0..45. still: keep the reference pose on every frame (no audio pose).
    reference_pose: optional (N, 6) or (N, 70) coefficients of a video whose head motion (relative to its
    first frame, looped to the clip length) is added, as SadTalker's `ref_pose`. blink: random blinks
    (SadTalker's eye-blink ratio); seed: for the blinks and the pose noise.
    """

    style: int = 0
    still: bool = False
    reference_pose: torch.Tensor | None = None
    blink: bool = True
    seed: int = 0


def random_blinks(num_frames: int, seed: int = 0) -> torch.Tensor:
    """(T, 1) blink ratio: 5-frame blinks [0.5, 0.9, 1, 0.9, 0.5] at random gaps; zeros for T <= 20."""
    ratio = torch.zeros(num_frames, 1)
    if num_frames < BLINK_MIN_FRAMES:
        return ratio
    rng = random.Random(seed)
    frame = 0
    while True:
        low = min(10, num_frames)
        frame += rng.randrange(low, max(low + 1, min(num_frames // 2, 70)))
        if frame + len(BLINK) > num_frames - 1:
            return ratio
        ratio[frame : frame + len(BLINK), 0] = torch.tensor(BLINK)
        frame += len(BLINK)


def pose_chunks(num_frames: int) -> int:
    """How many 32-frame decoder chunks (= noise draws) `num_frames` frames take."""
    moving = max(num_frames - 1, 0)
    return moving // SEQ_LEN + (1 if moving % SEQ_LEN else 0)


@torch.no_grad()
def predict_expression(
    net: SimpleWrapperV2, mel: MelFrames, ref_expression: torch.Tensor, ratio: torch.Tensor, progress: ProgressCallback | None = None
) -> torch.Tensor:
    """(T, 64) expression: every frame from its 80x16 window, the reference expression (64,) and its blink ratio (T, 1);
    `progress(frames done, T)` after each chunk."""
    param = next(net.parameters())
    out = []
    for start in range(0, mel.num_frames, EXPRESSION_CHUNK):
        stop = min(mel.num_frames, start + EXPRESSION_CHUNK)
        windows = mel.windows(SADTALKER_WINDOW, start, stop).to(param)[None, :, None]
        ref = ref_expression.to(param).reshape(1, 1, EXPRESSION_DIM).expand(1, stop - start, EXPRESSION_DIM)
        out.append(net(windows, ref, ratio[start:stop].to(param)[None])[0])
        report(progress, stop, mel.num_frames)
    return torch.cat(out)


@torch.no_grad()
def predict_pose(
    net: Audio2Pose, mel: MelFrames, ref_pose: torch.Tensor, style: int, noise: torch.Tensor, progress: ProgressCallback | None = None
) -> torch.Tensor:
    """(T, 6) raw pose: reference pose (6,) plus decoded offsets; frame 0 is the reference. `noise` is (pose_chunks(T), 64);
    `progress(chunks done, chunks)` after each 32-frame chunk."""
    if not 0 <= style < NUM_POSE_STYLES:
        raise ValueError(f"pose style must be in 0..{NUM_POSE_STYLES - 1}; got {style}")
    chunks = pose_chunks(mel.num_frames)
    if noise.shape != (chunks, LATENT_SIZE):
        raise ValueError(f"pose noise must have shape ({chunks}, {LATENT_SIZE}) for {mel.num_frames} frames; got {tuple(noise.shape)}")
    param = next(net.parameters())
    ref = ref_pose.to(param).reshape(1, POSE_DIM)
    style_id = torch.tensor([style], device=param.device)
    moving = mel.num_frames - 1
    full, rest = divmod(moving, SEQ_LEN)
    offsets = [torch.zeros(1, POSE_DIM, dtype=param.dtype, device=param.device)]
    for k in range(chunks):
        remainder = k == full
        low = max(moving - SEQ_LEN, 0) if remainder else k * SEQ_LEN
        high = moving if remainder else low + SEQ_LEN
        windows = mel.windows(SADTALKER_WINDOW, 1 + low, 1 + high).to(param)
        if windows.shape[0] < SEQ_LEN:  # HEAD: short clips repeat the first window (= its embedding) at the front
            windows = torch.cat([windows[:1].expand(SEQ_LEN - windows.shape[0], -1, -1), windows])
        decoded = net.decode_chunk(windows[None, :, None], noise[k : k + 1].to(param), style_id, ref)[0]
        offsets.append(decoded[-rest:] if remainder else decoded)
        report(progress, k + 1, chunks)
    return ref + torch.cat(offsets)


def smooth_pose(pose: torch.Tensor) -> torch.Tensor:
    """Savitzky-Golay along time (window 13, order 2; the largest odd window <= T for T < 13; untouched for T < 3)."""
    frames = pose.shape[0]
    window = SAVGOL_WINDOW if frames >= SAVGOL_WINDOW else (frames - 1) // 2 * 2 + 1
    if window <= SAVGOL_ORDER:
        return pose
    smoothed = savgol_filter(pose.detach().cpu().numpy().astype(np.float32), window, SAVGOL_ORDER, axis=0)
    return torch.from_numpy(np.asarray(smoothed, dtype=np.float32)).to(pose)


def add_reference_motion(coeffs: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Add a reference video's head motion (its pose minus its first pose, looped to T frames) to coefficients (T, 70)."""
    reference = torch.as_tensor(reference, dtype=coeffs.dtype, device=coeffs.device)
    if reference.dim() != 2 or reference.shape[1] not in (POSE_DIM, COEFF_DIM) or reference.shape[0] == 0:
        raise ValueError(f"reference pose must be (N >= 1, {POSE_DIM}) poses or (N, {COEFF_DIM}) coefficients; got {tuple(reference.shape)}")
    pose = reference[:, -POSE_DIM:] if reference.shape[1] == POSE_DIM else reference[:, EXPRESSION_DIM:COEFF_DIM]
    looped = pose[torch.arange(coeffs.shape[0], device=pose.device) % pose.shape[0]]
    out = coeffs.clone()
    out[:, EXPRESSION_DIM:] += looped - pose[:1]
    return out


def audio_coefficients(
    nets: SadTalkerAudioNetworks,
    mel: MelFrames,
    reference: torch.Tensor,
    options: PoseOptions = PoseOptions(),
    noise: torch.Tensor | None = None,
    ratio: torch.Tensor | None = None,
    progress: ProgressCallback | None = None,
) -> torch.Tensor:
    """(T, 70) float32 coefficients for every video frame of `mel`, driven by the audio.

    reference: the source's 70 (or 73) coefficients (expression | angles | translation [| crop]).
    noise (pose_chunks(T), 64) and ratio (T, 1) default to draws from `options.seed`.
    `progress` follows the expression and the pose loops on one scale (it may raise to cancel).
    """
    reference = torch.as_tensor(reference, dtype=torch.float32).reshape(-1)
    if reference.numel() not in (COEFF_DIM, SEMANTIC_DIM):
        raise ValueError(f"reference coefficients must have {COEFF_DIM} or {SEMANTIC_DIM} values; got {reference.numel()}")
    ref_pose = reference[EXPRESSION_DIM:COEFF_DIM]
    if ratio is None:
        ratio = random_blinks(mel.num_frames, options.seed) if options.blink else torch.zeros(mel.num_frames, 1)
    expression_progress, pose_progress = stage_callbacks(progress, [mel.num_frames, 0 if options.still else mel.num_frames])
    expression = predict_expression(nets.audio2exp, mel, reference[:EXPRESSION_DIM], ratio.reshape(-1, 1), expression_progress)
    if options.still:
        pose = ref_pose.to(expression).expand(mel.num_frames, POSE_DIM)
    else:
        if noise is None:
            noise = torch.randn(pose_chunks(mel.num_frames), LATENT_SIZE, generator=torch.Generator().manual_seed(options.seed))
        pose = smooth_pose(predict_pose(nets.audio2pose, mel, ref_pose, options.style, noise.reshape(-1, LATENT_SIZE), pose_progress))
    coeffs = torch.cat([expression, pose.to(expression)], dim=1).float()
    return coeffs if options.reference_pose is None else add_reference_motion(coeffs, options.reference_pose)


def with_source_crop(coeffs: torch.Tensor, source_semantics: torch.Tensor) -> torch.Tensor:
    """(T, 70) coefficients + the source's crop (s, tx, ty), the last 3 of its 73-d vector -> (T, 73), as StyleHEAT does."""
    source = torch.as_tensor(source_semantics, dtype=coeffs.dtype).reshape(-1)
    if source.numel() != SEMANTIC_DIM:
        raise ValueError(f"source semantics must be the {SEMANTIC_DIM}-d vector of the source portrait; got {source.numel()} values")
    return torch.cat([coeffs, source[COEFF_DIM:].to(coeffs.device).expand(coeffs.shape[0], -1)], dim=1)
