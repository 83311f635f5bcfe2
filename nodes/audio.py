"""Audio nodes: SadTalker audio models, an audio file loader (PyAV, no torchaudio needed) and Audio Flow."""

from __future__ import annotations

import logging
import math
import os

import torch

from ..styleheat_core.audio.drive import audio_drive
from ..styleheat_core.audio.frames import mel_frames
from ..styleheat_core.audio.sadtalker import COEFF_DIM, PoseOptions
from ..styleheat_core.audio.waveform import speech_16k
from ..styleheat_core.io.loaders import load_audio_warper, load_sadtalker_audio
from ..styleheat_core.pipeline.audio_motion import LipMotion
from ..styleheat_core.pipeline.frame_clock import DEFAULT_FPS, check_fps
from ..styleheat_core.pipeline.motion import CoefficientMotion
from ..styleheat_core.preprocess.video_io import read_soundtrack
from . import comfy
from .loaders import LOADER_CATEGORY, _file_input
from .motion import MOTION_CATEGORY
from .types import AUDIO_MODELS, AUDIO_WARPER, CATEGORY, COEFFS, FLOW, MOTION_MODELS, STYLEGAN, CoefficientTrack

logger = logging.getLogger("styleheat")
AUDIO_EXTENSIONS = {".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".mp4", ".mov", ".mkv", ".webm"}


class LoadAudioModels:
    """SadTalker's audio-to-expression and audio-to-pose networks (SadTalker_V0.0.2_256.safetensors, or the two older .pth files)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"sadtalker": _file_input("sadtalker_256")},
            "optional": {"audio2pose_pth": ("STRING", {"default": "", "tooltip": "only with auido2exp_00300-model.pth: the matching auido2pose_00140-model.pth"})},
        }

    RETURN_TYPES = (AUDIO_MODELS,)
    RETURN_NAMES = ("audio_models",)
    OUTPUT_TOOLTIPS = ("SadTalker's audio-to-expression and audio-to-pose networks, for Audio Flow",)
    FUNCTION = "load"
    CATEGORY = LOADER_CATEGORY
    DESCRIPTION = __doc__

    def load(self, sadtalker: str, audio2pose_pth: str = ""):
        pose = comfy.resolve(audio2pose_pth, "sadtalker_audio2pose") if audio2pose_pth.strip() else None
        return (comfy.ManagedModel.wrap(load_sadtalker_audio(comfy.resolve(sadtalker, "sadtalker_256"), pose, comfy.offload_device(), torch.float32)),)


def _input_files() -> list[str]:
    folder = comfy.input_folder()
    if not folder.is_dir():
        return []
    return sorted(f for f in os.listdir(folder) if os.path.splitext(f)[1].lower() in AUDIO_EXTENSIONS)


def read_audio(path: str) -> dict:
    """Any audio (or video with sound) file -> ComfyUI AUDIO {"waveform": (1, C, T) float32, "sample_rate"}."""
    sound = read_soundtrack(path)
    if sound is None:
        raise ValueError(f"{os.path.basename(path)} has no audio (no audio stream, or 0 samples); pick a file with sound")
    samples, rate = sound
    return {"waveform": torch.from_numpy(samples)[None], "sample_rate": int(rate)}


class LoadAudio:
    """Load speech from the input folder (wav, mp3, flac, or the sound of a video) without torchaudio."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"file": (_input_files(), {"tooltip": "a sound or video file in ComfyUI's input folder"})}}

    RETURN_TYPES = ("AUDIO",)
    RETURN_NAMES = ("audio",)
    OUTPUT_TOOLTIPS = ("the sound track, as ComfyUI AUDIO",)
    FUNCTION = "load"
    CATEGORY = f"{CATEGORY}/audio"
    DESCRIPTION = __doc__

    def load(self, file: str):
        return (read_audio(str(comfy.input_file(file))),)


class AudioFlow:
    """Speech -> per-frame motion (SadTalker audio-to-coefficients) -> flows; pose from a style, still, or a driving video's coefficients."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "motion_models": (MOTION_MODELS, {"tooltip": "the StyleHEAT motion networks (Load Motion Models)"}),
                "audio_models": (AUDIO_MODELS, {"tooltip": "the SadTalker audio networks (Load Audio Models)"}),
                "source": (COEFFS, {"tooltip": "the portrait's own coefficients (3DMM Extract on the portrait)"}),
                "audio": ("AUDIO", {"tooltip": "the speech (Load Audio or a video's sound)"}),
                "fps": ("FLOAT", {"default": 25.0, "min": 0.0, "max": 240.0, "step": 0.01, "tooltip": "frames per second of the motion; 0 = the frame rate of 'pose_from' (else 25)"}),
                "pose_style": ("INT", {"default": 0, "min": 0, "max": 45, "tooltip": "SadTalker head-motion style"}),
                "still": ("BOOLEAN", {"default": False, "tooltip": "keep the source's head pose (lips and expression only)"}),
                "blink": ("BOOLEAN", {"default": True, "tooltip": "add SadTalker's eye blinks"}),
                "seed": ("INT", {"default": 0, "min": 0, "max": 2**31 - 1, "tooltip": "seed of the random blinks and head-pose noise; the same seed gives the same motion"}),
            },
            "optional": {
                "pose_from": (
                    COEFFS,
                    {"tooltip": "joint mode: adds this driving video's head motion (relative to its first frame, SadTalker's ref_pose); with 'still' on, the head follows the video alone while the audio moves lips and expression"},
                ),
            },
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = (FLOW, COEFFS)
    RETURN_NAMES = ("flow", "coefficients")
    OUTPUT_TOOLTIPS = ("flow fields of the 64x64 feature, for Warp Features", "the predicted motion track, for 3DMM Edit or Video Flow")
    FUNCTION = "run"
    CATEGORY = MOTION_CATEGORY
    DESCRIPTION = __doc__

    def run(self, motion_models, audio_models, source: CoefficientTrack, audio, fps, pose_style, still, blink, seed, pose_from=None, node_id=None):
        fps = check_fps(fps or (pose_from.fps if pose_from is not None and pose_from.fps else DEFAULT_FPS), "Audio Flow fps")
        if pose_from is not None and pose_from.fps is not None and not math.isclose(pose_from.fps, fps, rel_tol=1e-4):
            logger.warning(
                "Audio Flow: 'pose_from' was extracted at %g fps but the speech is framed at %g fps, so the head motion plays %.3gx "
                "as fast as in the driving video; set fps to %g to keep its timing", pose_from.fps, fps, fps / pose_from.fps, pose_from.fps,
            )
        (nets,) = comfy.ready(audio_models)
        reference_pose = None if pose_from is None else pose_from.vectors[:, :COEFF_DIM]
        options = PoseOptions(style=pose_style, still=still, reference_pose=reference_pose, blink=blink, seed=seed)
        vectors = audio_drive(nets, audio, source.vectors[0], fps, options, progress=comfy.progress(1, node_id)).semantics
        return (CoefficientMotion(motion_models, vectors, fps), CoefficientTrack(vectors, source.vectors[0], fps))


class LoadAudioWarper:
    """The paper's AudioWarper (audio_warper.pt: {'net_G_ema': ...}). No official weights exist: train one with `python -m styleheat_core.train`."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"audio_warper": _file_input("audio_warper")}}

    RETURN_TYPES = (AUDIO_WARPER,)
    RETURN_NAMES = ("audio_warper",)
    OUTPUT_TOOLTIPS = ("StyleHEAT's audio-driven lip warper, for Audio Lip Flow",)
    FUNCTION = "load"
    CATEGORY = LOADER_CATEGORY
    DESCRIPTION = __doc__

    def load(self, audio_warper: str):
        return (comfy.ManagedModel.wrap(load_audio_warper(comfy.resolve(audio_warper, "audio_warper"), comfy.offload_device(), torch.float32)),)


class AudioLipFlow:
    """The paper's audio path: after a flow (video or Audio Flow), the AudioWarper moves the lower face from the speech's mel windows."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "stylegan": (STYLEGAN, {"tooltip": "the StyleGAN2 generator (Load StyleGAN2)"}),
                "audio_warper": (AUDIO_WARPER, {"tooltip": "the audio lip warper (Load Audio Warper)"}),
                "flow": (FLOW, {"tooltip": "the head and expression motion to refine (Video Flow or Audio Flow)"}),
                "audio": ("AUDIO", {"tooltip": "the speech (Load Audio or a video's sound)"}),
                "fps": ("FLOAT", {"default": 25.0, "min": 1.0, "max": 240.0, "step": 0.01, "tooltip": "frames per second of the lip motion"}),
            }
        }

    RETURN_TYPES = (FLOW,)
    RETURN_NAMES = ("flow",)
    OUTPUT_TOOLTIPS = ("lip flow fields of the 64x64 feature, for Warp Features",)
    FUNCTION = "run"
    CATEGORY = MOTION_CATEGORY
    DESCRIPTION = __doc__

    def run(self, stylegan, audio_warper, flow, audio, fps):
        fps = check_fps(fps, "Audio Lip Flow fps")
        if flow.fps is not None and not math.isclose(flow.fps, fps, rel_tol=1e-4):
            raise ValueError(f"Audio Lip Flow: the flow runs at {flow.fps:g} fps but fps is {fps:g}; set fps to {flow.fps:g} so lips and motion share one frame clock")
        return (LipMotion(flow, stylegan, audio_warper, mel_frames(speech_16k(audio), fps)),)


NODES = {
    "StyleHEAT_LoadAudioModels": (LoadAudioModels, "Load Audio Models (SadTalker)"),
    "StyleHEAT_LoadAudio": (LoadAudio, "Load Audio (any file)"),
    "StyleHEAT_AudioFlow": (AudioFlow, "Audio Flow"),
    "StyleHEAT_LoadAudioWarper": (LoadAudioWarper, "Load Audio Warper (paper)"),
    "StyleHEAT_AudioLipFlow": (AudioLipFlow, "Audio Lip Flow (paper)"),
}
