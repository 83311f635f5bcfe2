"""Streaming video files: frames encoded chunk by chunk, sound trimmed or padded to the video, temporary name then
rename, segments joined without re-encoding, and errors that name what to change."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

from styleheat_core.io.sound import ArraySound, FileSound, file_sound, sound_from
from styleheat_core.io.video_join import join_segments
from styleheat_core.io.video_writer import OutputError, VideoFormat, VideoWriter, check_sound_covers, frame_rate, partial_path
from tests.support.tiny_render import decoded, psnr, tone


def gradient_frames(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Smooth frames that change a little every frame (what H.264 sees in a talking face)."""
    yy, xx = np.mgrid[:height, :width]
    base = np.stack([yy * 3, xx * 2, (yy + xx) * 1.5], axis=-1)
    return np.clip(base[None] + 4 * np.arange(count)[:, None, None, None], 0, 255).astype(np.uint8)


def test_lossless_video_keeps_every_pixel_and_odd_sizes(tmp_path):
    frames = gradient_frames(9, 37, 51)
    with VideoWriter(tmp_path / "exact.mp4", 25, VideoFormat("h264 lossless")) as writer:
        for start in range(0, 9, 4):
            writer.write(frames[start : start + 4])
    out, sound = decoded(tmp_path / "exact.mp4")
    assert sound is None and len(out) == 9
    assert all(np.array_equal(a, b) for a, b in zip(out, frames))


def test_h264_pads_odd_sizes_and_stays_close(tmp_path):
    frames = gradient_frames(6, 37, 51)
    with VideoWriter(tmp_path / "small.mp4", 30, VideoFormat("h264", 12)) as writer:
        writer.write(frames)
    out, _ = decoded(tmp_path / "small.mp4")
    assert out[0].shape == (38, 52, 3)  # yuv420p needs even sides: the last row and column are repeated
    assert min(psnr(a[:37, :51], b) for a, b in zip(out, frames)) > 35
    with av.open(str(tmp_path / "small.mp4")) as container:
        assert container.streams.video[0].average_rate == 30


@pytest.mark.parametrize("fps", [25, 30])
@pytest.mark.parametrize("seconds", [0.5, 2.0], ids=["short-audio-padded", "long-audio-trimmed"])
def test_sound_lasts_exactly_as_long_as_the_video(tmp_path, fps, seconds):
    frames = 30 if seconds > 1 else int(0.5 * fps) + 1  # 0.5 s of sound for 0.5 s + 1 frame of video
    sound = ArraySound(tone(seconds, 44100, 2), 44100)
    with VideoWriter(tmp_path / "v.mp4", fps, VideoFormat(), sound) as writer:
        for start in range(0, frames, 7):
            writer.write(gradient_frames(min(7, frames - start)))
    out, duration = decoded(tmp_path / "v.mp4")
    assert len(out) == frames
    assert abs(duration - frames / fps) <= 1 / fps


def test_a_file_soundtrack_streams_and_can_start_later(tmp_path):
    with VideoWriter(tmp_path / "src.mp4", 25, VideoFormat(), ArraySound(tone(1.0, 16000), 16000)) as writer:
        writer.write(gradient_frames(25))
    sound = FileSound(tmp_path / "src.mp4")
    assert sound.rate == 16000 and sound.channels == 1 and abs(sound.num_samples / 16000 - 1.0) < 0.07
    later = sound_from(sound, 0.4)
    assert later.num_samples == sound.num_samples - 6400
    assert sum(block.shape[1] for block in later.blocks()) == later.num_samples
    with VideoWriter(tmp_path / "silent.mp4", 25) as writer:
        writer.write(gradient_frames(2))
    assert file_sound(tmp_path / "silent.mp4") is None


def test_audio_shorter_than_the_video_is_refused_with_the_fix():
    sound = ArraySound(tone(1.0), 16000)
    check_sound_covers(sound, 26, 25)  # one frame short: padded
    with pytest.raises(ValueError, match=r"lasts 1.00 s but the video is 4.00 s \(100 frames at 25 fps\).*at most 25 frames"):
        check_sound_covers(sound, 100, 25)


def test_bad_codec_quality_and_fps_name_the_setting():
    with pytest.raises(ValueError, match="unknown codec 'prores'; choose one of"):
        VideoFormat("prores")
    with pytest.raises(ValueError, match="crf"):
        VideoFormat("h264", 60)
    for fps in (0, -1, float("nan"), 1000):
        with pytest.raises(ValueError, match="fps must be a number"):
            frame_rate(fps)
    assert frame_rate(30000 / 1001) == frame_rate(29.97002997) and frame_rate(30000 / 1001).denominator == 1001


def test_an_unwritable_output_folder_fails_before_rendering(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    # root writes into a locked folder; nobody can create files in /proc
    target = Path("/proc/styleheat-test") if os.geteuid() == 0 else folder
    try:
        with pytest.raises(OutputError, match="choose an output folder you can write to"):
            VideoWriter(target / "v.mp4", 25)
    finally:
        folder.chmod(0o700)


def test_an_output_path_under_a_file_fails_before_rendering(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutputError, match="cannot write the video into .*file.*choose an output folder"):
        VideoWriter(tmp_path / "file" / "v.mp4", 25)


def test_an_aborted_video_leaves_no_file(tmp_path):
    path = tmp_path / "cancelled.mp4"
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(path, 25, sound=ArraySound(tone(1.0), 16000)) as writer:
            writer.write(gradient_frames(4))
            assert partial_path(path).is_file() and not path.exists()
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_joined_segments_equal_one_file(tmp_path):
    frames = gradient_frames(23)
    for codec in ("h264 lossless", "h264"):
        parts = []
        for index, (start, stop) in enumerate([(0, 8), (8, 9), (9, 23)]):
            with VideoWriter(tmp_path / f"{codec}-{index}.mp4", 25, VideoFormat(codec)) as writer:
                writer.write(frames[start:stop])
            parts.append(writer.path)
        joined = join_segments(parts, tmp_path / f"{codec}.mp4", 25, ArraySound(tone(0.9), 16000))
        out, duration = decoded(joined)
        assert len(out) == 23 and abs(duration - 23 / 25) <= 1 / 25
        if codec == "h264 lossless":
            assert all(np.array_equal(a, b) for a, b in zip(out, frames))
        else:
            assert min(psnr(a, b) for a, b in zip(out, frames)) > 35
        with av.open(str(joined)) as container:
            dts = [p.dts for p in container.demux(video=0) if p.dts is not None]
        assert dts == sorted(dts) and len(set(dts)) == 23
    with pytest.raises(FileNotFoundError, match="segments missing"):
        join_segments([tmp_path / "nope.mp4"], tmp_path / "x.mp4", 25)


def test_zero_frames_is_an_error_and_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="no frames were written: a video needs at least one frame"):
        with VideoWriter(tmp_path / "empty.mp4", 25):
            pass
    assert list(tmp_path.iterdir()) == []
