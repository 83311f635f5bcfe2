"""FID: the Inception features against pytorch-fid's own InceptionV3 (torchvision's Inception3 + its FID patches)
with identical stand-in weights, and the distance against pytorch-fid's calculate_frechet_distance."""

from pathlib import Path

import numpy as np
import pytest
import torch

from styleheat_core.evaluate.fid import fid, inception_features
from styleheat_core.evaluate.networks import load_metric_networks
from styleheat_core.io.layouts import OFFICIAL_FILES
from tests.support.metrics import reference_package, standin_state, write_standin

SEED = 5


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    write_standin("metric_fid_inception", folder, seed=SEED)
    return folder


@pytest.fixture(scope="module")
def frames() -> torch.Tensor:
    rng = np.random.default_rng(0)
    gradient = np.linspace(0, 255, 90)[None, :, None] * np.ones((90, 1, 3))
    return torch.from_numpy(np.clip(gradient[None] + rng.normal(0, 40, (3, 90, 90, 3)), 0, 255).astype(np.uint8))


def _reference_inception(monkeypatch):
    inception = reference_package("pytorch_fid.inception")
    state = standin_state("metric_fid_inception", seed=SEED)
    monkeypatch.setattr(inception, "load_state_dict_from_url", lambda *args, **kwargs: state)
    return inception.InceptionV3([inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()


def test_layout_is_the_pytorch_fid_network(monkeypatch):
    reference = _reference_inception(monkeypatch)
    inception = reference_package("pytorch_fid.inception")
    full = inception.fid_inception_v3()
    ours = OFFICIAL_FILES["metric_fid_inception"].layout.build()
    expected = {k: tuple(v.shape) for k, v in full.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == expected
    assert set(OFFICIAL_FILES["metric_fid_inception"].layout.ignored_prefixes) == {k for k in full.state_dict() if k.endswith("num_batches_tracked")}
    assert len(reference.blocks) == 4


def test_pool3_features_match_pytorch_fid(folder, frames, monkeypatch):
    nets = load_metric_networks(folder, ("fid",))
    ours = inception_features(nets.inception, frames)
    with torch.no_grad():
        expected = _reference_inception(monkeypatch)(frames.permute(0, 3, 1, 2).float() / 255.0)[0].flatten(1).double().numpy()
    assert ours.shape == (3, 2048) and ours.std() > 1e-3
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-5)


def test_a_file_with_batchnorm_counters_loads_too(tmp_path, frames, folder):
    counters = {key: torch.tensor(0) for key in OFFICIAL_FILES["metric_fid_inception"].layout.ignored_prefixes}
    write_standin("metric_fid_inception", tmp_path, seed=SEED, extra=counters)
    with_counters = inception_features(load_metric_networks(tmp_path, ("fid",)).inception, frames[:1])
    without = inception_features(load_metric_networks(folder, ("fid",)).inception, frames[:1])
    np.testing.assert_array_equal(with_counters, without)


@pytest.mark.parametrize("n,m,d", [(300, 200, 32), (12, 9, 64), (40, 40, 40)])
def test_frechet_distance_matches_pytorch_fid(n, m, d):
    fid_score = reference_package("pytorch_fid.fid_score")
    rng = np.random.default_rng(n + m + d)
    pred = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.2
    ref = rng.normal(size=(m, d)) + 0.1
    expected = fid_score.calculate_frechet_distance(pred.mean(0), np.cov(pred, rowvar=False), ref.mean(0), np.cov(ref, rowvar=False))
    assert fid(pred, ref) == pytest.approx(expected, rel=1e-6)
    assert fid(ref, ref) == pytest.approx(0.0, abs=1e-8)


def test_fid_needs_two_frames_and_says_it_needs_thousands():
    with pytest.raises(ValueError, match="at least 2 frames.*thousands of frames"):
        fid(np.zeros((1, 2048)), np.zeros((5, 2048)))


@pytest.mark.slow
def test_fid_of_pool3_features_matches_pytorch_fid(folder, frames):
    fid_score = reference_package("pytorch_fid.fid_score")
    nets = load_metric_networks(folder, ("fid",))
    pred, ref = inception_features(nets.inception, frames), inception_features(nets.inception, frames.flip(2))
    expected = fid_score.calculate_frechet_distance(pred.mean(0), np.cov(pred, rowvar=False), ref.mean(0), np.cov(ref, rowvar=False))
    assert fid(pred, ref) == pytest.approx(expected, rel=1e-5)
