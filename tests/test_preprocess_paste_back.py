"""Paste-back of generated aligned frames into the full-resolution originals: no seam, mask returned."""

import numpy as np
import pytest

from styleheat_core.preprocess.ffhq_align import align_portrait
from styleheat_core.preprocess.paste_back import aligned_mask, paste_back, paste_back_frame
from tests.support.preprocess import PORTRAIT, needs_media, rgb


@pytest.fixture(scope="module")
def portrait():
    if not PORTRAIT.is_file():
        pytest.skip("real media folder is absent")
    image = rgb(PORTRAIT)
    return image, align_portrait(image)


def step_size(image: np.ndarray) -> float:
    """Largest difference between neighbouring pixels."""
    image = image.astype(np.float64)
    return max(np.abs(np.diff(image, axis=0)).max(), np.abs(np.diff(image, axis=1)).max())


@needs_media
@pytest.mark.parametrize("shape", ["face", "square"])
def test_a_brightened_face_leaves_no_seam(portrait, shape):
    image, aligned = portrait
    dim = (image * 0.7).astype(np.uint8)  # headroom, so +40 never clips
    plain = align_portrait(dim, aligned.source_landmarks)
    assert plain.image.max() <= 215
    brighter = plain.image + np.uint8(40)
    frame, mask = paste_back_frame(dim, brighter, plain.transform, shape=shape)
    unchanged, _ = paste_back_frame(dim, plain.image, plain.transform, shape=shape)
    change = frame.astype(np.float64) - unchanged
    assert mask.shape == image.shape[:2] and mask.dtype == np.float32
    assert mask.max() > 0.99 and mask.min() == 0.0
    assert np.abs(change[mask > 0.99] - 40).max() <= 1  # the generated face is used where the mask is 1
    assert np.abs(frame.astype(np.float64) - dim)[mask == 0].max() == 0  # the original is untouched outside
    assert step_size(change) <= 4  # a 40-level jump spread over the feather: no visible edge
    assert step_size(mask) < 0.1


@needs_media
def test_pasting_the_unchanged_crop_restores_the_original(portrait):
    image, aligned = portrait
    frame, mask = paste_back_frame(image, aligned.image, aligned.transform)
    assert np.abs(frame.astype(np.float64) - image)[mask > 0.5].mean() < 2.0
    small = aligned.resized(256)  # a 256² generation pastes back through the same crop
    frame256, mask256 = paste_back_frame(image, small.image, aligned.transform)
    np.testing.assert_allclose(mask256, mask, atol=0.05)
    assert np.abs(frame256.astype(np.float64) - image)[mask > 0.5].mean() < 6.0


@needs_media
def test_video_paste_back_shapes_and_reuse(portrait):
    image, aligned = portrait
    result = paste_back(image, np.stack([aligned.image] * 3), aligned.transform)
    assert result.frames.shape == (3,) + image.shape and result.masks.shape == (3,) + image.shape[:2]
    np.testing.assert_array_equal(result.frames[0], result.frames[2])
    with pytest.raises(ValueError, match="one original and one transform per generated frame"):
        paste_back(np.stack([image] * 2), np.stack([aligned.image] * 3), aligned.transform)


def test_mask_is_zero_at_the_crop_border_and_checks_its_options():
    for shape in ("face", "square"):
        mask = aligned_mask(256, shape)
        assert mask[0].max() == 0 and mask[:, -1].max() == 0 and mask[128, 128] > 0.99
    with pytest.raises(ValueError, match="'face', 'square'"):
        aligned_mask(256, "circle")
    with pytest.raises(ValueError, match="feather must be in"):
        aligned_mask(256, "face", feather=0.5)
