"""Face detection and 68 landmarks: real media, several faces, missing faces, odd image formats."""

import subprocess
import sys

import numpy as np
import pytest

from styleheat_core.preprocess.images import to_rgb_uint8
from styleheat_core.preprocess.landmarks import NoFaceError, default_backend, detect_landmarks, dlib_model_dir, iter_landmarks
from styleheat_core.preprocess.video_io import iter_video_frames
from tests.support.preprocess import DRIVING_VIDEO, FFHQ_PORTRAIT, PORTRAIT, TALKING_VIDEO, needs_media, rgb, two_face_canvas

SECONDS = 3
FPS = 25


def assert_plausible_face(points: np.ndarray) -> None:
    """68 points with the eyes above the nose tip above the mouth, and the left eye left of the right one."""
    assert points.shape == (68, 2) and np.isfinite(points).all()
    eyes_y = max(points[36:42, 1].mean(), points[42:48, 1].mean())
    assert eyes_y < points[30, 1] < points[48:68, 1].mean()
    assert points[36:42, 0].mean() < points[42:48, 0].mean()


def test_model_files_found_without_importing_the_package():
    code = "import sys; from styleheat_core.preprocess.landmarks import dlib_model_dir; dlib_model_dir(); print('face_recognition_models' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert (dlib_model_dir() / "shape_predictor_68_face_landmarks.dat").is_file()


@needs_media
@pytest.mark.parametrize("path", [PORTRAIT, FFHQ_PORTRAIT], ids=lambda p: p.name)
def test_portraits_get_68_ordered_landmarks(path):
    assert_plausible_face(detect_landmarks(rgb(path)))


@needs_media
@pytest.mark.parametrize("path", [TALKING_VIDEO, DRIVING_VIDEO], ids=lambda p: p.name)
def test_every_video_frame_gets_68_ordered_landmarks(path):
    tracked = list(iter_landmarks(iter_video_frames(path, SECONDS * FPS)))
    assert len(tracked) == SECONDS * FPS
    assert all(t.detected for t in tracked)
    for t in tracked:
        assert_plausible_face(t.points)


@needs_media
def test_several_faces_largest_first_or_by_index():
    canvas, (lx, ly, lside), (sx, sy, sside) = two_face_canvas()
    assert len(default_backend().detect(canvas)) == 2
    largest, second = detect_landmarks(canvas), detect_landmarks(canvas, face_index=1)
    assert lx < largest[:, 0].mean() < lx + lside and ly < largest[:, 1].mean() < ly + lside
    assert sx < second[:, 0].mean() < sx + sside and sy < second[:, 1].mean() < sy + sside
    with pytest.raises(ValueError, match="face_index 2 .* has 2 face"):
        detect_landmarks(canvas, face_index=2)


@needs_media
def test_no_face_error_names_the_frame_and_carry_last_option():
    face = rgb(PORTRAIT)
    blank = np.full_like(face, 90)
    with pytest.raises(NoFaceError, match="frame 1"):
        list(iter_landmarks([face, blank, face]))
    tracked = list(iter_landmarks([blank, face, blank, face], on_missing="carry_last"))
    assert [t.detected for t in tracked] == [False, True, False, True]
    np.testing.assert_array_equal(tracked[0].points, tracked[1].points)
    np.testing.assert_array_equal(tracked[2].points, tracked[1].points)
    with pytest.raises(NoFaceError, match="any of the 2 frames"):
        list(iter_landmarks([blank, blank], on_missing="carry_last"))
    with pytest.raises(NoFaceError, match="the image"):
        detect_landmarks(blank)
    with pytest.raises(ValueError, match="on_missing must be one of"):
        list(iter_landmarks([face], on_missing="skip"))


@needs_media
def test_grey_rgba_16bit_float_and_small_images_are_handled():
    face = rgb(PORTRAIT)
    reference = detect_landmarks(face)
    grey = (face.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).round().astype(np.uint8)
    rgba = np.concatenate([face, np.full(face.shape[:2] + (1,), 255, np.uint8)], axis=2)
    variants = {
        "grey": grey,
        "grey_hw1": grey[..., None],
        "rgba": rgba,
        "16bit": face.astype(np.uint16) * 257,
        "float": face.astype(np.float32) / 255.0,
    }
    for name, image in variants.items():
        points = detect_landmarks(image)
        assert np.abs(points - reference).mean() < 3.0, name
    small = face[::8, ::8]  # 80x112: the face box is ~46 px wide
    assert_plausible_face(detect_landmarks(small))


def test_bad_images_are_refused_with_what_to_change():
    with pytest.raises(ValueError, match="at least 32 px"):
        to_rgb_uint8(np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(ValueError, match=r"in \[0, 1\].*divide"):
        to_rgb_uint8(np.full((64, 64, 3), 200.0, np.float32))
    with pytest.raises(ValueError, match="HxWx4"):
        to_rgb_uint8(np.zeros((64, 64, 2), np.uint8))
    with pytest.raises(ValueError, match="unsupported dtype int32"):
        to_rgb_uint8(np.zeros((64, 64, 3), np.int32))
    with pytest.raises(TypeError, match="numpy array"):
        to_rgb_uint8([[0]])
    rgba = np.zeros((40, 40, 4), np.uint8)
    assert to_rgb_uint8(rgba).min() == 255  # transparent pixels composite over white
