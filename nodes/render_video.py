"""Render Video: the driven video rendered, pasted back and encoded a chunk at a time into ComfyUI's output folder."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from tqdm import tqdm

from ..styleheat_core.io.sound import SoundSource, file_sound
from ..styleheat_core.io.video_writer import CODECS, CONTAINER, VideoFormat
from ..styleheat_core.pipeline.decode import WarpedFeatures, frame_range
from ..styleheat_core.pipeline.frame_clock import choose_fps
from ..styleheat_core.pipeline.render import ImageFrames, PasteBackPlan, VideoFrames, render_to_file, sound_of_audio
from ..styleheat_core.preprocess.paste_back import MASK_SHAPES
from . import comfy
from .render import FPS_INPUT, frame_range_inputs, render_inputs
from .types import CATEGORY, CROP, CropTransforms
from .video import checked_frames, video_file

logger = logging.getLogger("styleheat")
OUTPUT_FOLDER_FALLBACK = "STYLEHEAT_OUTPUT_DIR"

try:
    from comfy_api.input_impl import VideoFromFile
except ImportError:
    VideoFromFile = None


def output_path(prefix: str, width: int, height: int) -> tuple[Path, str]:
    """A new numbered file for `prefix` in ComfyUI's output folder (the usual counter), and its subfolder there."""
    if comfy.folder_paths is not None:
        folder, name, counter, subfolder, _ = comfy.folder_paths.get_save_image_path(prefix, comfy.folder_paths.get_output_directory(), width, height)
    else:
        base = Path(os.environ.get(OUTPUT_FOLDER_FALLBACK, "output")).resolve()
        subfolder, name = os.path.split(os.path.normpath(prefix))
        folder = (base / subfolder).resolve()
        if not folder.is_relative_to(base):
            raise ValueError(f"filename_prefix '{prefix}' leaves the output folder {base}; use a name inside it")
        counter = 1
        while (folder / f"{name}_{counter:05}_.{CONTAINER}").exists():
            counter += 1
    return Path(folder) / f"{name}_{counter:05}_.{CONTAINER}", subfolder


def _sound(audio: dict | None, sound_video) -> SoundSource | None:
    if audio is not None:
        return sound_of_audio(audio)
    if sound_video is None:
        logger.info("Render Video: no audio connected; the video is silent")
        return None
    sound = file_sound(video_file(sound_video))
    if sound is None:
        logger.warning("Render Video: the video connected to 'sound_video' has no sound; the video is silent")
    return sound


def _paste_plan(crop: CropTransforms | None, original, original_video, start: int, mask_shape: str, feather: float) -> PasteBackPlan | None:
    if crop is None:
        if original is not None or original_video is not None:
            raise ValueError("paste-back needs 'crop' (from Face Align or Video Crop) as well as the original: connect it, or disconnect the original")
        return None
    if (original is None) == (original_video is None):
        raise ValueError("with 'crop' connected, connect exactly one of 'original' (the portrait or frames, IMAGE) and 'original_video' (VIDEO) to paste into")
    originals = ImageFrames(checked_frames(original, "original", "Render Video")) if original is not None else VideoFrames(video_file(original_video), start)
    return PasteBackPlan(originals, crop.transforms, mask_shape, feather)


def _metadata(prompt, extra_pnginfo) -> dict[str, str]:
    """The workflow and prompt, embedded in the file as core Save Video does."""
    metadata = dict(extra_pnginfo or {})
    if prompt is not None:
        metadata["prompt"] = prompt
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in metadata.items()}


class RenderVideo:
    """Render the driven video into a file (ComfyUI output folder): chunk by chunk at flat memory, pasted back into the portrait or
    the driving video when 'crop' is connected, encoded as it goes (H.264 mp4, or lossless), with the sound trimmed or padded
    to the video. Shows the video and returns it (VIDEO) and its path."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                **render_inputs("size of the generated face (the frame size without paste-back)"),
                "codec": (list(CODECS), {"default": "h264", "tooltip": "; ".join(f"{name}: {spec.description}" for name, spec in CODECS.items())}),
                "quality": ("INT", {"default": 18, "min": 0, "max": 51, "tooltip": "H.264 constant rate factor: 0 best, 18 visually lossless, 51 smallest"}),
                "filename_prefix": ("STRING", {"default": "styleheat/video", "tooltip": "file name in ComfyUI's output folder; a counter is added"}),
            },
            "optional": {
                "audio": ("AUDIO", {"tooltip": "the soundtrack; trimmed or padded to the video"}),
                "sound_video": ("VIDEO", {"tooltip": "take the sound from this video (e.g. the driving video) when 'audio' is not connected"}),
                "crop": (CROP, {"tooltip": "paste-back: the crop transform(s) from Face Align or Video Crop"}),
                "original": ("IMAGE", {"tooltip": "paste-back: the portrait (one image) or the original frames"}),
                "original_video": ("VIDEO", {"tooltip": "paste-back: the original video, read a chunk at a time"}),
                "mask_shape": (list(MASK_SHAPES), {"default": "face", "tooltip": "paste-back: the face oval or the whole crop replaces the original"}),
                "feather": ("FLOAT", {"default": 0.06, "min": 0.01, "max": 0.25, "step": 0.01, "tooltip": "paste-back blur width, fraction of the crop side"}),
                "fps": FPS_INPUT,
                **frame_range_inputs("render"),
            },
            "hidden": {"node_id": "UNIQUE_ID", "prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ("VIDEO", "STRING")
    RETURN_NAMES = ("video", "path")
    OUTPUT_TOOLTIPS = ("the saved video, for core video nodes", "the saved file's path")
    OUTPUT_NODE = True
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = __doc__

    def run(
        self, stylegan: comfy.ManagedModel, features: WarpedFeatures, size: str, chunk_size: int, codec: str, quality: int, filename_prefix: str,
        audio=None, sound_video=None, crop: CropTransforms | None = None, original=None, original_video=None, mask_shape="face", feather=0.06,
        fps=0.0, start_frame=0, frame_count=0, node_id=None, prompt=None, extra_pnginfo=None,
    ):
        frames = frame_range(features.num_frames, start_frame, frame_count)
        video_format = VideoFormat(codec, quality)
        chosen = choose_fps(features.fps, fps, len(frames), "Render Video")
        paste = _paste_plan(crop, original, original_video, frames.start, mask_shape, feather)
        sound = _sound(audio, sound_video)
        height, width = paste.originals.size if paste is not None else (int(size), int(size))
        path, subfolder = output_path(filename_prefix, width, height)
        generator, *_ = comfy.ready(stylegan, *features.models())
        progress = comfy.progress(len(frames), node_id)
        with tqdm(total=len(frames), unit="frame", desc="Render Video") as bar:

            def update(done: int, total: int) -> None:
                bar.update(done - bar.n)
                progress(done, total)

            render_to_file(
                generator, features, path, chosen, frames, int(size), chunk_size, video_format, paste, sound,
                _metadata(prompt, extra_pnginfo), update,
            )
        video = VideoFromFile(str(path)) if VideoFromFile is not None else path
        preview = {"filename": path.name, "subfolder": subfolder, "type": "output"}
        return {"ui": {"images": [preview], "animated": (True,)}, "result": (video, str(path))}


NODES = {"StyleHEAT_RenderVideo": (RenderVideo, "Render Video")}
