"""LPIPS (AlexNet, v0.1) against the lpips package's own code, with identical stand-in weights."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from styleheat_core.evaluate.lpips import lpips_distances, to_signed_unit
from styleheat_core.evaluate.networks import load_metric_networks
from styleheat_core.io.checkpoints import CheckpointError, validated_parts
from styleheat_core.io.layouts import official_file
from tests.support.metrics import reference_package, standin_state, write_standin

# lpips.pretrained_networks.alexnet puts torchvision's features[i] into slice k.
SLICE_OF_LAYER = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}


def _frames(seed: int, count: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    pred = np.clip(ref.astype(int) + rng.integers(-50, 51, ref.shape), 0, 255).astype(np.uint8)
    pred[0] = ref[0]
    return pred, ref


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    classifier = {"classifier.1.weight": torch.zeros(4096, 9216), "classifier.1.bias": torch.zeros(4096)}
    write_standin("metric_alexnet", folder, seed=3, extra=classifier)
    write_standin("metric_lpips_alex", folder, seed=4)
    return folder


def _reference_lpips(folder: Path):
    lpips = reference_package("lpips")
    heads = folder / official_file("metric_lpips_alex").filename
    model = lpips.LPIPS(pretrained=True, net="alex", pnet_rand=True, model_path=str(heads), verbose=False)
    trunk = standin_state("metric_alexnet", seed=3)
    model.net.load_state_dict(
        {f"slice{SLICE_OF_LAYER[i]}.{i}.{p}": trunk[f"features.{i}.{p}"] for i in SLICE_OF_LAYER for p in ("weight", "bias")}, strict=True
    )
    for index in range(5):
        torch.testing.assert_close(getattr(model, f"lin{index}").model[1].weight, standin_state("metric_lpips_alex", seed=4)[f"lin{index}.model.1.weight"])
    return model.eval()


@pytest.mark.parametrize("size", [64, 100])
def test_lpips_matches_the_lpips_package(folder, size):
    nets = load_metric_networks(folder, ("lpips",))
    pred, ref = _frames(size, 3, size)
    ours = lpips_distances(nets.lpips, torch.from_numpy(pred), torch.from_numpy(ref))
    with torch.no_grad():
        expected = _reference_lpips(folder)(to_signed_unit(torch.from_numpy(pred)), to_signed_unit(torch.from_numpy(ref))).flatten().double()
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5)
    assert ours[0] == 0 and (ours[1:] > 0.05).all()


def test_the_real_lpips_heads_file_passes_the_strict_layout(folder):
    lpips = reference_package("lpips")
    real = Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth"
    heads = validated_parts(real, official_file("metric_lpips_alex"))["lpips_alex"]
    assert [tuple(v.shape) for v in heads.values()] == [(1, c, 1, 1) for c in (64, 192, 384, 256, 256)]
    assert all((v >= 0).all() for v in heads.values())


def test_missing_metric_files_say_where_to_put_them_and_where_they_come_from(tmp_path):
    with pytest.raises(CheckpointError) as error:
        load_metric_networks(tmp_path, ("lpips", "fid", "csim"))
    message = str(error.value)
    for key in ("metric_alexnet", "metric_lpips_alex", "metric_fid_inception", "metric_arcface"):
        spec = official_file(key)
        assert str(tmp_path / spec.filename) in message and spec.source in message and f"--only {key}" in message


def test_a_wrong_file_is_refused_with_its_keys(tmp_path):
    heads = write_standin("metric_lpips_alex", tmp_path)
    shutil.copyfile(heads, tmp_path / official_file("metric_alexnet").filename)
    with pytest.raises(CheckpointError, match="missing keys: features.0.weight"):
        load_metric_networks(tmp_path, ("lpips",))
