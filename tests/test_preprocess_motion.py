"""3DMM extraction from frames and videos (recipe Deep3D weights), the motion options and the per-video cache."""

import time

import numpy as np
import pytest
import torch
from torch import nn

from styleheat_core.preprocess.coefficients import coefficients_from_frames, portrait_coefficients
from styleheat_core.preprocess.deep3d_align import align_for_deep3d, to_network_input
from styleheat_core.preprocess.ffhq_align import align_portrait
from styleheat_core.preprocess.motion import MotionOptions, apply_motion_options, extract_video_motion
from styleheat_core.preprocess.motion_cache import model_fingerprint
from styleheat_core.preprocess.video_crop import CropOptions
from styleheat_core.preprocess.video_io import iter_video_frames
from tests.support.golden import GoldenCase
from tests.support.preprocess import PORTRAIT, TALKING_VIDEO, needs_media, recipe_deep3d, rgb, standard_lm3d_5

FRAMES = 8


def test_frames_to_coefficients_match_the_official_crop_and_network():
    case = GoldenCase.load("preprocess_3dmm")
    images = np.stack([case.input(f"in.image{i}_u8").numpy() for i in (0, 1)])
    landmarks = np.stack([case.input(f"in.landmarks{i}").numpy() for i in (0, 1)])
    net, lm3d_5 = recipe_deep3d(), standard_lm3d_5()
    result = coefficients_from_frames(images, landmarks, net, lm3d_5, batch_size=1)
    for i in (0, 1):
        case.check(f"out.trans_params{i}", result.trans_params[i])
        with torch.no_grad():
            expected = net(to_network_input(align_for_deep3d(images[i], landmarks[i], lm3d_5).crop))
        torch.testing.assert_close(result.coeff257[i : i + 1], expected)
    assert result.semantics.shape == (2, 73)
    with pytest.raises(ValueError, match=r"\(N, 256, 256, 3\)"):
        coefficients_from_frames(images[:, :128], landmarks, net, lm3d_5)


def test_motion_options():
    driving = torch.randn(30, 73, generator=torch.Generator().manual_seed(0))
    source = torch.randn(73, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(apply_motion_options(driving, MotionOptions()), driving)
    expression = apply_motion_options(driving, MotionOptions(expression_only=True), source)
    torch.testing.assert_close(expression[:, :64], driving[:, :64])
    torch.testing.assert_close(expression[:, 64:], source[64:].expand(30, 9))
    relative = apply_motion_options(driving, MotionOptions(relative=True, reference_frame=0), source)
    torch.testing.assert_close(relative[0], source)
    torch.testing.assert_close(relative - relative[0], driving - driving[0])
    smooth = apply_motion_options(driving, MotionOptions(smoothing=2.0))
    assert smooth.diff(dim=0).abs().mean() < 0.5 * driving.diff(dim=0).abs().mean()
    assert smooth.diff(dim=0).abs().mean() < apply_motion_options(driving, MotionOptions(smoothing=0.5)).diff(dim=0).abs().mean()
    both = apply_motion_options(driving, MotionOptions(relative=True, expression_only=True), source)
    torch.testing.assert_close(both[:, 64:], source[64:].expand(30, 9))
    with pytest.raises(ValueError, match="needs the source"):
        apply_motion_options(driving, MotionOptions(relative=True))
    with pytest.raises(ValueError, match="reference_frame 40"):
        apply_motion_options(driving, MotionOptions(relative=True, reference_frame=40), source)
    with pytest.raises(ValueError, match="73 values"):
        apply_motion_options(driving, MotionOptions(expression_only=True), source[:70])


def test_checkpoint_fingerprint_changes_with_the_weights():
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    before = model_fingerprint(net)
    assert model_fingerprint(net) == before
    with torch.no_grad():
        net[0].weight[0, 0] += 1e-3
    assert model_fingerprint(net) != before


@needs_media
def test_video_motion_is_cached_per_video_and_options(tmp_path):
    net, lm3d_5 = recipe_deep3d(), standard_lm3d_5()
    source = portrait_coefficients(align_portrait(rgb(PORTRAIT)).image, net, lm3d_5).semantics
    assert source.shape == (1, 73) and torch.isfinite(source).all()
    start = time.perf_counter()
    first = extract_video_motion(TALKING_VIDEO, net, lm3d_5, cache_dir=tmp_path, max_frames=FRAMES)
    extract_seconds = time.perf_counter() - start
    assert not first.from_cache and first.cache_path.is_file()
    assert first.semantics.shape == (FRAMES, 73) and first.windows().shape == (FRAMES, 73, 27)
    assert first.detected.all() and first.crop_landmarks.shape == (FRAMES, 68, 2)
    assert torch.isfinite(first.coefficients.coeff257).all()

    start = time.perf_counter()
    options = MotionOptions(expression_only=True, smoothing=1.0)
    second = extract_video_motion(TALKING_VIDEO, net, lm3d_5, source=source, options=options, cache_dir=tmp_path, max_frames=FRAMES)
    assert second.from_cache and second.cache_path == first.cache_path
    assert time.perf_counter() - start < extract_seconds / 3
    torch.testing.assert_close(second.coefficients.coeff257, first.coefficients.coeff257)
    torch.testing.assert_close(second.semantics, apply_motion_options(first.semantics, options, source))

    tracked = extract_video_motion(TALKING_VIDEO, net, lm3d_5, crop=CropOptions(mode="tracked"), cache_dir=tmp_path, max_frames=FRAMES)
    assert not tracked.from_cache and tracked.cache_path != first.cache_path
    frames = np.stack(list(iter_video_frames(TALKING_VIDEO, FRAMES)))
    in_memory = extract_video_motion(frames, net, lm3d_5)
    torch.testing.assert_close(in_memory.coefficients.coeff257, first.coefficients.coeff257)
    transform = first.transforms[0]
    np.testing.assert_allclose(transform.to_aligned(first.source_landmarks[0]), first.crop_landmarks[0])
    with pytest.raises(ValueError, match="crops at 256"):
        extract_video_motion(frames, net, lm3d_5, crop=CropOptions(size=512))
