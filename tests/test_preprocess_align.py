"""FFHQ portrait alignment: eye positions, the kept transform, 256² output and the command line."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from styleheat_core.preprocess.ffhq_align import AlignTransform, align_portrait, ffhq_quad
from styleheat_core.preprocess.landmarks import detect_landmarks
from styleheat_core.preprocess.warp import warp_affine
from tests.support.preprocess import FFHQ_PORTRAIT, PORTRAIT, needs_media, rgb


def eye_centres(points: np.ndarray) -> np.ndarray:
    return np.stack([points[36:42].mean(0), points[42:48].mean(0)])


@needs_media
def test_aligned_portraits_put_the_eyes_at_the_ffhq_positions():
    ffhq = rgb(FFHQ_PORTRAIT)
    ffhq_eyes = eye_centres(detect_landmarks(ffhq))  # FFHQ-aligned already (with another landmark detector)
    for image in (ffhq, rgb(PORTRAIT)):
        aligned = align_portrait(image)
        assert aligned.image.shape == (1024, 1024, 3) and aligned.image.dtype == np.uint8
        found = eye_centres(detect_landmarks(aligned.image))
        assert np.abs(found - eye_centres(aligned.landmarks)).max() < 5.0  # where the transform says they went
        assert np.abs(found - ffhq_eyes).max() < 10.0  # 1% of the side: detector differences


def test_quad_follows_the_recipe_on_a_symmetric_face():
    points = np.zeros((68, 2))
    points[36:42] = [100, 200]
    points[42:48] = [200, 200]
    points[48], points[54] = [120, 300], [180, 300]
    quad = ffhq_quad(points)
    # eye_to_eye 100, eye_to_mouth 100 -> half-width max(200, 180) = 200 around (150, 210)
    np.testing.assert_allclose(quad, [[-50, 10], [-50, 410], [350, 410], [350, 10]], atol=1e-9)
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        ffhq_quad(points[:5])


def test_transform_round_trips_points_and_maps_the_quad_to_the_image_corners():
    transform = AlignTransform(np.array([[30.0, 40.0], [10.0, 500.0], [470.0, 520.0], [490.0, 60.0]]), 1024)
    corners = transform.to_aligned(transform.quad)
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [-0.5, 1023.5], [1023.5, 1023.5], [1023.5, -0.5]], atol=1e-9)
    points = np.random.default_rng(0).uniform(0, 600, size=(100, 2))
    assert np.abs(transform.to_source(transform.to_aligned(points)) - points).max() < 1.0
    assert np.abs(transform.to_source(transform.to_aligned(points)) - points).max() < 1e-9
    restored = AlignTransform.from_dict(json.loads(json.dumps(transform.as_dict())))
    np.testing.assert_allclose(restored.matrix, transform.matrix)
    small = transform.resized(256)
    np.testing.assert_allclose(small.to_aligned(points), (transform.to_aligned(points) + 0.5) / 4 - 0.5, atol=1e-9)


@needs_media
def test_align_then_inverse_warp_restores_the_face_region():
    image = rgb(PORTRAIT)
    aligned = align_portrait(image, size=512)
    back = warp_affine(aligned.image, aligned.transform.inverse, (image.shape[1], image.shape[0]))
    points = aligned.source_landmarks
    x0, y0 = points.min(0).astype(int)
    x1, y1 = points.max(0).astype(int)
    difference = np.abs(back[y0:y1, x0:x1].astype(float) - image[y0:y1, x0:x1])
    assert difference.mean() < 4.0
    np.testing.assert_allclose(aligned.transform.to_source(aligned.landmarks), points, atol=1e-6)


@needs_media
def test_encoder_size_is_the_same_crop():
    aligned = align_portrait(rgb(PORTRAIT))
    small = aligned.resized(256)
    assert small.image.shape == (256, 256, 3)
    np.testing.assert_array_equal(small.image, cv2.resize(aligned.image, (256, 256), interpolation=cv2.INTER_AREA))
    np.testing.assert_allclose(small.landmarks, (aligned.landmarks + 0.5) / 4 - 0.5, atol=1e-9)


@needs_media
def test_command_line_writes_the_portrait_and_its_json(tmp_path):
    out = tmp_path / "aligned" / "art.png"
    command = [sys.executable, "-m", "styleheat_core.preprocess", "align", "--image", str(PORTRAIT), "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    written = cv2.imread(str(out))
    assert written.shape == (1024, 1024, 3)
    record = json.loads(out.with_suffix(".json").read_text())
    assert np.array(record["landmarks"]).shape == (68, 2)
    transform = AlignTransform.from_dict(record["transform"])
    np.testing.assert_allclose(transform.to_aligned(np.array(record["landmarks"])), record["aligned_landmarks"], atol=1e-6)
    assert np.abs(eye_centres(detect_landmarks(cv2.cvtColor(written, cv2.COLOR_BGR2RGB))) - eye_centres(np.array(record["aligned_landmarks"]))).max() < 5.0


def test_command_line_reports_bad_input(tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 90, np.uint8))
    for image, message in ((tmp_path / "missing.png", "cannot read an image"), (blank, "no face found")):
        command = [sys.executable, "-m", "styleheat_core.preprocess", "align", "--image", str(image), "--out", str(tmp_path / "o.png")]
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 1 and message in result.stderr
