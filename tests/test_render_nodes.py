"""Render Video, Decode's frame range and memory check, VIDEO inputs, Paste Back's input checks and the frame clock, in-process."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from styleheat_core.io.sound import ArraySound
from styleheat_core.io.video_writer import VideoFormat, VideoWriter
from styleheat_core.pipeline.image_format import image_to_uint8
from styleheat_core.preprocess.ffhq_align import AlignTransform
from styleheat_core.preprocess.video_io import probe_video
from tests.support.clips import cut_clip
from tests.support.model_folder import recipe_model_folder
from tests.support.pack import node, pack, results
from tests.support.preprocess import PORTRAIT, TALKING_VIDEO, needs_media, rgb
from tests.support.tiny_render import decoded, tiny_features, tiny_generator, tone

FRAMES = 5
CROP = AlignTransform(np.array([[86.0, 36.0], [86.0, 164.0], [214.0, 164.0], [214.0, 36.0]]), 256)


class FileVideo:
    """What core Load Video hands a node (VideoFromFile's interface): a file behind `get_stream_source`."""

    def __init__(self, path: Path):
        self.path = path

    def get_stream_source(self) -> str:
        return str(self.path)


@pytest.fixture
def output_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEHEAT_OUTPUT_DIR", str(tmp_path / "output"))
    return tmp_path / "output"


def stylegan():
    return pack().nodes.comfy.ManagedModel(tiny_generator())


def crop(*transforms: AlignTransform):
    return pack().nodes.types.CropTransforms(transforms or (CROP,))


def still(height: int = 200, width: int = 300) -> torch.Tensor:
    return torch.linspace(0.2, 0.7, width).view(1, 1, width, 1).expand(1, height, width, 3).contiguous()


def write_video(path: Path, frames: int, fps: float = 25.0, seconds_of_sound: float | None = None) -> Path:
    images = image_to_uint8(still().expand(frames, -1, -1, -1) * torch.linspace(0.8, 1.0, frames).view(-1, 1, 1, 1))
    sound = None if seconds_of_sound is None else ArraySound(tone(seconds_of_sound, 44100, 2), 44100)
    with VideoWriter(path, fps, VideoFormat("h264 lossless"), sound) as writer:
        writer.write(images)
    return writer.path


def render(features, **options):
    defaults = {"size": "256", "chunk_size": 2, "codec": "h264", "quality": 18, "filename_prefix": "styleheat/test"}
    return node("StyleHEAT_RenderVideo").run(stylegan(), features, **{**defaults, **options})


def test_render_video_writes_numbered_files_and_shows_them(output_dir):
    first = render(tiny_features(FRAMES, fps=30.0))
    second = render(tiny_features(FRAMES, fps=30.0))
    video, path = first["result"]
    assert Path(path) == output_dir / "styleheat" / "test_00001_.mp4" and Path(second["result"][1]).name == "test_00002_.mp4"
    assert first["ui"] == {"images": [{"filename": "test_00001_.mp4", "subfolder": "styleheat", "type": "output"}], "animated": (True,)}
    frames, sound = decoded(path)
    assert len(frames) == FRAMES and frames[0].shape == (256, 256, 3) and sound is None
    assert probe_video(path).fps == 30  # the motion's frame rate


@pytest.mark.parametrize("fps", [25.0, 30.0])
def test_render_video_sound_lasts_frames_over_fps(output_dir, fps):
    frames = 6
    audio = {"waveform": torch.from_numpy(tone(frames / fps - 0.01, 48000, 2))[None], "sample_rate": 48000}
    _, path = render(tiny_features(frames, fps=fps), audio=audio)["result"]
    images, duration = decoded(path)
    assert len(images) == frames and abs(duration - frames / fps) <= 1 / fps


def test_render_video_pastes_into_the_driving_video_with_its_sound(output_dir, tmp_path):
    driving = write_video(tmp_path / "driving.mp4", 8, seconds_of_sound=8 / 25)
    _, path = render(tiny_features(8), crop=crop(), original_video=FileVideo(driving), sound_video=FileVideo(driving), start_frame=3, frame_count=4,
                     codec="h264 lossless")["result"]
    frames, duration = decoded(path)
    originals = [f for f in decoded(driving)[0]]
    assert len(frames) == 4 and frames[0].shape == (200, 300, 3) and abs(duration - 4 / 25) <= 1 / 25
    assert np.array_equal(frames[0][:, :40], originals[3][:, :40])  # outside the face: the driving frame of the same index
    assert not np.array_equal(frames[0][:, :40], originals[0][:, :40])


def test_render_video_names_missing_paste_back_inputs(output_dir):
    with pytest.raises(ValueError, match="needs 'crop'"):
        render(tiny_features(2), original=still())
    with pytest.raises(ValueError, match="connect exactly one of 'original'"):
        render(tiny_features(2), crop=crop())
    with pytest.raises(ValueError, match="unknown codec"):
        render(tiny_features(2), codec="vp9")
    with pytest.raises(ValueError, match="start_frame 5 is past the last frame"):
        render(tiny_features(2), start_frame=5)
    assert not output_dir.exists() or not list(output_dir.rglob("*.mp4"))


def test_render_video_warns_when_fps_overrides_the_motion(output_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="styleheat"):
        _, path = render(tiny_features(3, fps=30.0), fps=25.0)["result"]
    assert probe_video(path).fps == 25
    assert any("differs from the motion's 30 fps" in r.message for r in caplog.records)


def test_decode_frame_range_and_memory_check(monkeypatch):
    features = tiny_features(FRAMES, fps=30.0)
    audio = {"waveform": torch.arange(48000.0).view(1, 1, -1), "sample_rate": 48000}
    frames, clipped, fps = node("StyleHEAT_StyleGANDecode").run(stylegan(), features, "256", 2, 0.0, audio, 1, 3)
    whole, _, _ = node("StyleHEAT_StyleGANDecode").run(stylegan(), features, "256", 2, 0.0)
    assert fps == 30.0 and frames.shape == (3, 256, 256, 3)
    torch.testing.assert_close(frames, whole[1:4])
    assert clipped["waveform"][0, 0, 0] == 1600 and clipped["waveform"].shape[-1] == 4800  # frames 1..3 at 30 fps
    monkeypatch.setattr(pack().nodes.render, "free_memory", lambda: 2 * 256 * 256 * 12)
    with pytest.raises(MemoryError, match="3 frames of 256x256 as one IMAGE.*Render Video.*about 2 frames fit"):
        node("StyleHEAT_StyleGANDecode").run(stylegan(), features, "256", 2, 0.0, None, 0, 3)


def test_paste_back_checks_its_frames_and_streams_a_video(tmp_path):
    paste = node("StyleHEAT_PasteBack")
    with pytest.raises(ValueError, match="no generated frames"):
        paste.run(still(), torch.zeros(0, 256, 256, 3), crop())
    bad = torch.rand(3, 256, 256, 3)
    bad[2, 5, 5, 0] = float("nan")
    with pytest.raises(ValueError, match=r"frames 0..2 contain NaN"):
        paste.run(still(), bad, crop())
    with pytest.raises(ValueError, match="'original_video' .* or from 'original'.*both are connected"):
        paste.run(still(), bad, crop(), original_video=FileVideo(tmp_path / "x.mp4"))
    driving = write_video(tmp_path / "driving.mp4", 3)
    faces = torch.rand(3, 256, 256, 3)
    images, masks = paste.run(None, faces, crop(), "face", 0.06, FileVideo(driving))
    from_image, _ = paste.run(torch.from_numpy(np.stack(decoded(driving)[0])).float() / 255, faces, crop(), "face", 0.06)
    assert images.shape == (3, 200, 300, 3) and masks.shape == (3, 200, 300)
    torch.testing.assert_close(images, from_image)


def test_a_file_without_pictures_says_what_to_connect(tmp_path):
    import soundfile

    soundfile.write(tmp_path / "speech.wav", tone(0.2)[0], 16000)
    with pytest.raises(ValueError, match="has no video stream .*give a video file with picture frames"):
        node("StyleHEAT_VideoCrop").run(video=FileVideo(tmp_path / "speech.wav"))
    with pytest.raises(ValueError, match="'frames' holds no frames.*Connect a video with picture frames"):
        node("StyleHEAT_3DMMExtract").run(None, torch.zeros(0, 3, 0, 0))
    with pytest.raises(ValueError, match="neither is connected"):
        node("StyleHEAT_3DMMExtract").run(None)


@needs_media
def test_3dmm_extract_reads_a_video_and_keeps_its_fps(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEHEAT_MODELS_DIR", str(recipe_model_folder()))
    monkeypatch.setenv("STYLEHEAT_CACHE_DIR", str(tmp_path / "cache"))
    deep3d = node("StyleHEAT_LoadDeep3D").load("Deep3D/epoch_20.pth", "BFM/similarity_Lm3D_all.mat", "fp32")[0]
    clip = cut_clip(TALKING_VIDEO, tmp_path / "clip.mp4", 3)
    progress = []
    monkeypatch.setattr(pack().nodes.comfy, "progress", lambda total, node_id=None: lambda done, now: progress.append((done, now)))
    (track,) = node("StyleHEAT_3DMMExtract").run(deep3d, video=FileVideo(clip))
    assert track.vectors.shape == (3, 73) and track.fps == 25.0
    assert progress == [(1, 3), (2, 3), (3, 3)]
    frames = torch.from_numpy(np.stack(decoded(clip)[0])).float() / 255
    (from_images,) = node("StyleHEAT_3DMMExtract").run(deep3d, frames, fps=25.0)
    torch.testing.assert_close(from_images.vectors, track.vectors, atol=1e-4, rtol=0)
    assert from_images.fps == 25.0
    (flow,) = node("StyleHEAT_VideoFlow").run(None, track)
    assert flow.fps == 25.0
    (crops, crop_out) = results(node("StyleHEAT_VideoCrop").run(video=FileVideo(clip)))
    assert crops.shape == (3, 256, 256, 3) and len(crop_out.transforms) == 3
    portrait = torch.from_numpy(rgb(PORTRAIT)).float()[None] / 255
    (unknown,) = node("StyleHEAT_3DMMExtract").run(deep3d, portrait)
    assert unknown.fps is None
