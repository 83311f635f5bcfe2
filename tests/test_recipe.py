"""The weight recipe reproduces the README's test vectors and every manifest sha256."""

import hashlib
import math
import zlib

import numpy as np
import pytest

from tests.support.golden import golden_dir, manifest, network_state_dict
from tests.support.recipe import CHUNK_SIZE as CHUNK
from tests.support.recipe import recipe_array


def test_readme_test_vectors():
    np.testing.assert_array_equal(
        recipe_array("stylegan2", "input.input", [3], 0.0, 1.0),
        np.array([0.007768783252686262, -0.1883540004491806, -0.31682080030441284], dtype=np.float32),
    )
    assert recipe_array("e4e", "latent_avg", [3], 0.0, 0.5).tobytes().hex() == "bc80773e9e8783beeb7d9ebe"
    assert recipe_array("stylegan2", "conv1.conv.modulation.bias", [3], 1.0, 0.1).tobytes().hex() == "cc1c803fcd4f813fdad4813f"


def _scalar_recipe(tag: str, key: str, index: int, mean: float, std: float) -> np.float32:
    """The README's per-element formula, written out with Python integers."""
    mask = (1 << 64) - 1
    z = (zlib.crc32(f"{tag}:{key}".encode()) + (index + 1) * 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    z ^= z >> 31
    u = (float(z >> 40) + 0.5) / 16777216.0
    return np.float32(mean + std * (math.sqrt(3.0) * (2.0 * u - 1.0)))


def test_vectorised_chunks_equal_the_scalar_formula():
    n = CHUNK + 1000
    values = recipe_array("input", "stylegan2.w_plus", [n], 0.25, 3.0)
    for index in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, n - 1):
        assert values[index] == _scalar_recipe("input", "stylegan2.w_plus", index, 0.25, 3.0), index


@pytest.mark.golden
@pytest.mark.parametrize("network", sorted(p.stem for p in (golden_dir() / "manifests").glob("*.json")))
def test_manifest_sha256(network):
    spec = manifest(network)["keys"]
    state = network_state_dict(network)
    assert list(state) == list(spec)
    wrong = [k for k, v in state.items() if hashlib.sha256(v.numpy().tobytes()).hexdigest() != spec[k]["sha256"]]
    assert not wrong, f"{network}: recipe bytes differ for {wrong[:5]}"
