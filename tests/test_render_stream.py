"""The streaming renderer: chunked render + paste-back + encode, frame ranges, the frame clock, cancel, and memory checks."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from styleheat_core.io.sound import ArraySound
from styleheat_core.io.video_writer import VideoFormat, VideoWriter, partial_path
from styleheat_core.pipeline.decode import check_image_fits, decode_video, frame_range
from styleheat_core.pipeline.frame_clock import choose_fps
from styleheat_core.pipeline.image_format import image_to_uint8, network_to_image
from styleheat_core.pipeline.render import ImageFrames, PasteBackPlan, VideoFrames, render_to_file, sound_of_audio
from styleheat_core.preprocess.ffhq_align import AlignTransform
from styleheat_core.preprocess.paste_back import paste_back_batch
from tests.support.tiny_render import decoded, tiny_features, tiny_generator, tone

FRAMES = 7
# A 256² face pasted into the middle of a 200x300 frame, at half size.
CROP = AlignTransform(np.array([[86.0, 36.0], [86.0, 164.0], [214.0, 164.0], [214.0, 36.0]]), 256)


def background(count: int = 1) -> torch.Tensor:
    """IMAGE (count, 200, 300, 3): a grey gradient, a little brighter each frame."""
    ramp = torch.linspace(0.2, 0.6, 300).view(1, 1, 300, 1).expand(count, 200, 300, 3)
    return (ramp + 0.01 * torch.arange(count).view(-1, 1, 1, 1)).contiguous()


def test_render_to_file_equals_decode_then_encode(tmp_path):
    features = tiny_features(FRAMES)
    path = render_to_file(tiny_generator(), features, tmp_path / "v.mp4", 25, range(FRAMES), 256, 3, VideoFormat("h264 lossless"))
    frames, sound = decoded(path)
    expected = image_to_uint8(decode_video(tiny_generator(), features, 256, 3))
    assert sound is None and len(frames) == FRAMES
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(frames, expected)) <= 1  # float rounding of the two conversions
    assert not np.array_equal(frames[0], frames[3])


def test_a_frame_range_renders_those_frames_with_their_sound(tmp_path):
    features = tiny_features(20)
    speech = ArraySound(np.concatenate([np.zeros((1, 16000 // 25 * 10), np.float32), tone(0.4)], axis=1), 16000)  # silent, then a tone from frame 10
    path = render_to_file(tiny_generator(), features, tmp_path / "part.mp4", 25, range(10, 15), 256, 2, VideoFormat("h264 lossless"), sound=speech)
    frames, duration = decoded(path)
    whole = image_to_uint8(decode_video(tiny_generator(), features, 256, 4, frames=range(10, 15)))
    assert len(frames) == 5 and abs(duration - 5 / 25) <= 1 / 25
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(frames, whole)) <= 1
    from styleheat_core.preprocess.video_io import read_soundtrack

    samples, _ = read_soundtrack(path)
    assert np.abs(samples[:, 2000:3000]).max() > 0.1  # the tone, not the silence before frame 10


def test_paste_back_per_chunk_matches_pasting_the_whole_video(tmp_path):
    features = tiny_features(FRAMES)
    originals = background(FRAMES)
    plan = PasteBackPlan(ImageFrames(originals), (CROP,))
    path = render_to_file(tiny_generator(), features, tmp_path / "pasted.mp4", 25, range(FRAMES), 256, 3, VideoFormat("h264 lossless"), plan)
    frames, _ = decoded(path)
    faces = torch.from_numpy(image_to_uint8(decode_video(tiny_generator(), features, 256, 4)))
    whole, masks = paste_back_batch(torch.from_numpy(image_to_uint8(originals)), faces, [CROP])
    assert frames[0].shape == (200, 300, 3)
    assert max(np.abs(a.astype(int) - b.numpy()).max() for a, b in zip(frames, whole)) <= 1
    outside = masks[0] == 0
    assert np.array_equal(frames[4][outside.numpy()], image_to_uint8(originals[4:5])[0][outside.numpy()])


def test_originals_read_lazily_from_a_video_file(tmp_path):
    originals = image_to_uint8(background(FRAMES))
    with VideoWriter(tmp_path / "driving.mp4", 25, VideoFormat("h264 lossless")) as writer:
        writer.write(originals)
    video = VideoFrames(writer.path, start=2)
    assert video.num_frames == FRAMES and video.size == (200, 300)
    assert np.array_equal(video.frames([2, 3]).numpy(), originals[2:4])
    assert np.array_equal(video.frames([4]).numpy(), originals[4:5])
    with pytest.raises(ValueError, match="read in order"):
        video.frames([2])
    plan = PasteBackPlan(VideoFrames(writer.path), (CROP,))
    with pytest.raises(ValueError, match=f"paste-back needs 1 or at least 9 .*got {FRAMES}.*render fewer frames"):
        plan.check_covers(range(9))


def test_cancel_leaves_no_file(tmp_path):
    def cancel(done: int, total: int) -> None:
        if done >= 2:
            raise InterruptedError("cancelled")

    path = tmp_path / "cancelled.mp4"
    with pytest.raises(InterruptedError):
        render_to_file(tiny_generator(), tiny_features(FRAMES), path, 25, range(FRAMES), 256, 1, on_progress=cancel)
    assert not path.exists() and not partial_path(path).exists()


def test_audio_shorter_than_the_render_fails_before_the_first_frame(tmp_path):
    calls = []
    with pytest.raises(ValueError, match="audio lasts 0.05 s but the video is 0.28 s"):
        render_to_file(tiny_generator(), tiny_features(FRAMES), tmp_path / "v.mp4", 25, range(FRAMES), 256, on_progress=lambda *a: calls.append(a),
                       sound=sound_of_audio({"waveform": torch.from_numpy(tone(0.05))[None], "sample_rate": 16000}))
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_bad_audio_is_named():
    with pytest.raises(ValueError, match="batch of 2 clips"):
        sound_of_audio({"waveform": torch.zeros(2, 1, 100), "sample_rate": 16000})
    with pytest.raises(ValueError, match="0 samples"):
        sound_of_audio({"waveform": torch.zeros(1, 1, 0), "sample_rate": 16000})
    with pytest.raises(ValueError, match="NaN"):
        list(sound_of_audio({"waveform": torch.full((1, 1, 100), float("nan")), "sample_rate": 16000}).blocks())


def test_frame_ranges_are_checked_with_the_widget_named():
    assert frame_range(10) == range(10) and frame_range(10, 3, 4) == range(3, 7) and frame_range(10, 9) == range(9, 10)
    for args, message in (
        ((0,), "0 frames"),
        ((10, -1), "start_frame must be an integer >= 0"),
        ((10, 0, -2), "frame_count must be an integer >= 0"),
        ((10, 10), "start_frame 10 is past the last frame"),
        ((10, 4, 7), "set frame_count to at most 6"),
    ):
        with pytest.raises(ValueError, match=message):
            frame_range(*args)


def test_decode_refuses_an_image_that_does_not_fit():
    check_image_fits(range(100), 256, 100 * 256 * 256 * 12)
    with pytest.raises(MemoryError, match=r"2000 frames of 1024x1024 as one IMAGE: 23.4 GiB.*Render Video.*start_frame / frame_count \(about 85 frames fit\)"):
        check_image_fits(range(2000), 1024, 1 << 30)


def test_fps_comes_from_the_motion_and_an_override_warns_what_drifts(caplog):
    with caplog.at_level(logging.WARNING, logger="styleheat"):
        assert choose_fps(30.0, 0.0, 300, "Render Video") == 30.0
        assert choose_fps(None, 0.0, 300, "Render Video") == 25.0
        assert not caplog.records
        assert choose_fps(30.0, 25.0, 300, "Render Video") == 25.0
    (record,) = caplog.records
    assert "differs from the motion's 30 fps" in record.message and "12.00 s instead of 10.00 s" in record.message and "drifts by up to 2.00 s" in record.message
    with pytest.raises(ValueError, match="fps must be a frame rate"):
        choose_fps(30.0, -3.0, 10, "Render Video")


def test_chunks_reuse_the_layers_below_the_feature_and_equal_frames_rendered_alone(monkeypatch):
    # The unedited source's code is the same for every chunk: the renderer runs the generator's layers below
    # 64x64 once for the whole video, and every chunk equals the same frames rendered on their own.
    generator, features = tiny_generator(), tiny_features(7)
    alone = [features.frames(generator, list(range(start, min(start + 3, 7)))) for start in range(0, 7, 3)]
    calls = []
    below_feature = type(generator).below_feature
    monkeypatch.setattr(type(generator), "below_feature", lambda self, w_plus: calls.append(w_plus.shape) or below_feature(self, w_plus))
    video = decode_video(generator, features, size=256, chunk_size=3)
    assert calls == [(1, generator.n_latent, generator.style_dim)]
    expected = torch.cat([network_to_image(chunk, 256) for chunk in alone])
    assert video.shape == (7, 256, 256, 3)
    assert torch.equal(video, expected)
    assert not torch.equal(video[0], video[3])
