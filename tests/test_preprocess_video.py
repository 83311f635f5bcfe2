"""Driving-video crops: fixed (official) and tracked (smoothed) modes, per-frame transforms, streaming input."""

import numpy as np
import pytest
import torch

from styleheat_core.preprocess.ffhq_align import ffhq_quad
from styleheat_core.preprocess.temporal import smooth_sequence
from styleheat_core.preprocess.video_crop import CropOptions, crop_video
from styleheat_core.preprocess.video_io import iter_video_frames
from tests.support.hostile_inputs import RATE, write_video
from tests.support.preprocess import DRIVING_VIDEO, TALKING_VIDEO, needs_media

FRAMES = 50


def jitter(track: np.ndarray) -> float:
    """Mean frame-to-frame displacement of a (N, K, 2) point track."""
    return float(np.linalg.norm(np.diff(track, axis=0), axis=-1).mean())


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    if not DRIVING_VIDEO.is_file():
        pytest.skip("real media folder is absent")
    return np.stack(list(iter_video_frames(DRIVING_VIDEO, FRAMES)))


@needs_media
def test_fixed_mode_uses_the_first_frame_square_for_every_frame(frames):
    result = crop_video(frames, CropOptions(mode="fixed"))
    assert result.crops.shape == (FRAMES, 256, 256, 3) and result.crops.dtype == np.uint8
    assert len(result.transforms) == FRAMES and result.detected.all()
    np.testing.assert_allclose(result.quads, np.broadcast_to(ffhq_quad(result.source_landmarks[0]), result.quads.shape))
    for transform, source, crop_points in zip(result.transforms, result.source_landmarks, result.landmarks):
        np.testing.assert_allclose(transform.to_aligned(source), crop_points)
        np.testing.assert_allclose(transform.to_source(crop_points), source, atol=1e-6)


@needs_media
def test_tracked_mode_follows_the_face_with_less_jitter_than_the_raw_track(frames):
    raw = crop_video(frames, CropOptions(mode="tracked", smoothing=0.0))
    smooth = crop_video(frames, CropOptions(mode="tracked", smoothing=2.0))
    np.testing.assert_allclose(raw.quads, np.stack([ffhq_quad(p) for p in raw.source_landmarks]))
    np.testing.assert_array_equal(raw.source_landmarks, smooth.source_landmarks)
    assert jitter(smooth.quads) < 0.7 * jitter(raw.quads)
    assert jitter(smooth_sequence(smooth.source_landmarks, 2.0)) < jitter(smooth.source_landmarks)
    # the smoothed square stays on the face: landmarks keep close to where the raw square puts them
    assert np.abs(smooth.landmarks - raw.landmarks).mean() < 3.0


@needs_media
def test_streamed_frames_give_the_same_crops_as_an_array():
    def stream():
        yield from iter_video_frames(TALKING_VIDEO, 20)

    threads = torch.get_num_threads()
    from_stream = crop_video(stream(), CropOptions(mode="tracked", smoothing=3.0, size=128))
    assert torch.get_num_threads() == threads  # the crops ran on one torch thread beside the detection threads, then restored
    from_array = crop_video(np.stack(list(stream())), CropOptions(mode="tracked", smoothing=3.0, size=128))
    assert from_stream.crops.shape == (20, 128, 128, 3)
    np.testing.assert_array_equal(from_stream.crops, from_array.crops)
    np.testing.assert_allclose(from_stream.quads, from_array.quads)


@needs_media
def test_missing_faces_in_a_video(frames):
    clip = frames[:6].copy()
    clip[2] = 90
    with pytest.raises(ValueError, match="no face found in frame 2"):
        crop_video(clip, CropOptions(mode="tracked"))
    result = crop_video(clip, CropOptions(mode="tracked", on_missing="carry_last"))
    assert result.detected.tolist() == [True, True, False, True, True, True]
    np.testing.assert_array_equal(result.source_landmarks[2], result.source_landmarks[1])


def test_bad_crop_options_say_what_to_use():
    with pytest.raises(ValueError, match="'fixed', 'tracked'"):
        CropOptions(mode="smooth")
    with pytest.raises(ValueError, match="sigma"):
        CropOptions(smoothing=-1.0)
    with pytest.raises(ValueError, match="no frames"):
        crop_video(iter([]))


def test_smoothing_keeps_constant_tracks_and_clamps_the_ends():
    track = np.tile(np.array([[3.0, 4.0]]), (10, 1))
    np.testing.assert_allclose(smooth_sequence(track, 2.5), track)
    ramp = np.arange(10, dtype=float)[:, None]
    smoothed = smooth_sequence(ramp, 1.0)
    np.testing.assert_allclose(smoothed[3:7], ramp[3:7], atol=1e-9)  # linear motion is kept away from the ends
    assert smoothed[0, 0] > 0.0 and smoothed[-1, 0] < 9.0


def test_a_damaged_or_empty_video_names_the_file_and_what_to_do(tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(ValueError, match=r"corrupt.mp4' cannot be read as a video \(.+\): the file is damaged, cut off or not a video"):
        next(iter_video_frames(corrupt))
    empty = write_video(tmp_path / "empty.mkv", [], np.zeros(RATE // 2, dtype=np.float32))  # a video stream that never gets a packet
    with pytest.raises(ValueError, match="empty.mkv' has no picture frames"):
        list(iter_video_frames(empty))
