"""Affine warps: the OpenCV path (numpy images) and the kornia path (tensor batches) compute the same image."""

import numpy as np
import pytest
import torch

from styleheat_core.preprocess.ffhq_align import AlignTransform, ffhq_quad
from styleheat_core.preprocess.landmarks import detect_landmarks
from styleheat_core.preprocess.warp import resize_matrix, warp_affine, warp_affine_batch
from tests.support.preprocess import PORTRAIT, needs_media, rgb


def kornia_path(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], border: str) -> np.ndarray:
    tensor = torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None]
    return warp_affine_batch(tensor, matrix, size, border)[0].permute(1, 2, 0).numpy()


@needs_media
@pytest.mark.parametrize("size", [1024, 256, 64], ids=["enlarged", "shrunk-2x", "shrunk-area-8x"])
@pytest.mark.parametrize("border", ["reflect", "constant", "replicate"])
def test_opencv_and_kornia_paths_agree_to_a_uint8_level(size, border):
    image = rgb(PORTRAIT)
    transform = AlignTransform(ffhq_quad(detect_landmarks(image)), size)  # the quad leaves the image: borders are read
    opencv = warp_affine(image, transform.matrix, (size, size), border)
    kornia = kornia_path(image, transform.matrix, (size, size), border).round().clip(0, 255)
    assert opencv.shape == (size, size, 3) and opencv.dtype == np.uint8
    difference = np.abs(opencv.astype(np.float64) - kornia)
    assert difference.max() <= 1.0
    assert difference.mean() < 0.25  # rounding only (OpenCV rounds the area step and its 1/32-pixel coordinates)
    assert opencv.std() > 20  # a real image, not an empty one


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_shrinking_by_an_integer_factor_averages_exact_boxes(factor):
    rng = np.random.default_rng(factor)
    height, width = 12 * factor, 20 * factor
    image = rng.uniform(0, 255, size=(height, width, 3)).astype(np.float32)
    boxes = image.reshape(12, factor, 20, factor, 3).mean(axis=(1, 3))
    matrix = resize_matrix(width, height, 20, 12)  # output pixel centres sit on the shrunk grid: bicubic reads one sample
    np.testing.assert_allclose(warp_affine(image, matrix, (20, 12)), boxes, atol=1e-3)
    np.testing.assert_allclose(kornia_path(image, matrix, (20, 12), "constant"), boxes, atol=1e-3)
    grey = warp_affine(image[..., 0], matrix, (20, 12))
    assert grey.shape == (12, 20)
    np.testing.assert_allclose(grey, boxes[..., 0], atol=1e-3)


@pytest.mark.parametrize("border", ["reflect", "constant", "replicate"])
def test_a_shrink_whose_boxes_pass_the_image_edge_reads_the_border_there(border):
    # 101 columns shrunk 4x: the last box holds column 100 and three border pixels; it is neither dropped nor uneven.
    image = np.random.default_rng(1).uniform(0, 255, size=(40, 101)).astype(np.float32)
    image[:, -1] = 255.0
    matrix = resize_matrix(101, 40, 25, 10)
    opencv = warp_affine(image, matrix, (25, 10), border)
    kornia = kornia_path(image[..., None], matrix, (25, 10), border)[..., 0]
    np.testing.assert_allclose(opencv, kornia, atol=0.02)
    darker = image.copy()
    darker[:, -1] = 0.0
    assert (opencv[:, -1] - warp_affine(darker, matrix, (25, 10), border)[:, -1]).min() > 5  # the last column is read


def test_warp_refuses_what_it_cannot_warp_faithfully():
    matrix = np.eye(3)
    with pytest.raises(ValueError, match="float64"):
        warp_affine(np.zeros((8, 8, 3)), matrix, (8, 8))
    with pytest.raises(ValueError, match=r"\(8, 8, 5\)"):
        warp_affine(np.zeros((8, 8, 5), np.uint8), matrix, (8, 8))
    with pytest.raises(ValueError, match="border must be one of"):
        warp_affine(np.zeros((8, 8, 3), np.uint8), matrix, (8, 8), border="wrap")
    outside = np.array([[1.0, 0, 500], [0, 1, 500], [0, 0, 1]])  # the output sees none of the image
    assert not warp_affine(np.full((8, 8, 3), 200, np.uint8), outside, (4, 4)).any()
