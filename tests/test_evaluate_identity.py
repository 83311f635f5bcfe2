"""CSIM: ArcFace IR-SE50 embeddings against a direct float64 computation of pSp's face crop, pooling and cosine."""

import json

import numpy as np
import pytest
import torch

from styleheat_core.evaluate.identity import cosine_similarity, identity_embeddings
from styleheat_core.evaluate.metrics import ClipScorer
from styleheat_core.evaluate.networks import load_metric_networks
from styleheat_core.io.layouts import OFFICIAL_FILES
from tests.support.golden import golden_dir
from tests.support.metrics import write_standin


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    write_standin("metric_arcface", folder, seed=7)
    return load_metric_networks(folder, ("csim",))


def _adaptive_pool(x: np.ndarray, size: int) -> np.ndarray:
    """torch's adaptive average pooling, written out: bin i spans floor(i*L/size) .. ceil((i+1)*L/size)."""
    length = x.shape[-1]
    bins = [(i * length // size, -(-(i + 1) * length // size)) for i in range(size)]
    return np.stack([np.stack([x[..., r0:r1, c0:c1].mean(axis=(-2, -1)) for c0, c1 in bins], -1) for r0, r1 in bins], -2)


def _direct_embeddings(model, frames: np.ndarray) -> np.ndarray:
    """pSp IDLoss.extract_feats on a 256 face: rows 35:223, columns 32:220, pooled to 112 (pixels in float64)."""
    x = frames.transpose(0, 3, 1, 2).astype(np.float64) / 127.5 - 1.0
    face = _adaptive_pool(_adaptive_pool(x, 256)[:, :, 35:223, 32:220], 112)
    with torch.no_grad():
        return model(torch.from_numpy(face).float()).double().numpy()


def test_csim_matches_a_direct_computation(nets):
    """300² frames: the 256² pooling bins overlap unevenly, as they do for any size that is not a multiple of 256."""
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 256, (2, 300, 300, 3), dtype=np.uint8)
    pred = np.clip(ref.astype(int) + rng.integers(-60, 61, ref.shape), 0, 255).astype(np.uint8)
    pred[1] = rng.integers(0, 256, ref.shape[1:], dtype=np.uint8)
    scorer = ClipScorer(nets, ("csim",))
    scorer.add(pred, ref)
    ours = scorer.result().values["csim"]
    a, b = _direct_embeddings(nets.arcface, pred), _direct_embeddings(nets.arcface, ref)
    expected = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(identity_embeddings(nets.arcface, torch.from_numpy(ref)).numpy(), axis=1), 1.0, atol=1e-6)
    assert ours[1] < ours[0] < 1.0


def test_csim_against_one_source_face(nets):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (2, 256, 256, 3), dtype=np.uint8)
    scorer = ClipScorer(nets, ("csim",), identity_source=frames[0])
    scorer.add(frames, frames[::-1].copy())
    values = scorer.result().values["csim"]
    assert values[0] == pytest.approx(1.0, abs=1e-6) and values[1] < 0.999
    embeddings = identity_embeddings(nets.arcface, torch.from_numpy(frames))
    assert values[1] == pytest.approx(cosine_similarity(embeddings[1:], embeddings[:1]).item(), abs=1e-6)


def test_arcface_keys_are_the_official_ir_se50_keys():
    """input_layer.* and body.* use pSp's module names, as the e4e encoder's IR-SE50 (golden manifest of the official module)."""
    manifest = json.loads((golden_dir() / "manifests" / "e4e.json").read_text())["keys"]
    official = {k: tuple(v["shape"]) for k, v in manifest.items() if k.startswith(("input_layer.", "body.")) and not k.endswith("num_batches_tracked")}
    ours = {k: tuple(v.shape) for k, v in OFFICIAL_FILES["metric_arcface"].layout.build().state_dict().items()}
    assert {k: v for k, v in ours.items() if k.startswith(("input_layer.", "body."))} == official
    assert {k: v for k, v in ours.items() if k.startswith("output_layer.")} == {
        "output_layer.0.weight": (512,), "output_layer.0.bias": (512,), "output_layer.0.running_mean": (512,), "output_layer.0.running_var": (512,),
        "output_layer.3.weight": (512, 25088), "output_layer.3.bias": (512,),
        "output_layer.4.weight": (512,), "output_layer.4.bias": (512,), "output_layer.4.running_mean": (512,), "output_layer.4.running_var": (512,),
    }


def test_arcface_refuses_other_input_sizes(nets):
    with pytest.raises(ValueError, match="112, 112"):
        nets.arcface(torch.zeros(1, 3, 128, 128))


