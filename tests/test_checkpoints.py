"""Official checkpoint containers: our layouts equal the official key/shape manifests, fakes load, bad files fail clearly."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from styleheat_core.io import checkpoints, loaders
from styleheat_core.io.checkpoints import CheckpointError, expected_layout, validated_parts
from styleheat_core.io.layouts import OFFICIAL_FILES, ModuleEntry, TensorEntry, identify
from tests.support.fake_checkpoints import fake_container, write_fake
from tests.support.golden import golden_dir

MANIFESTS = sorted((golden_dir() / "checkpoints").glob("*.json"))


def _shapes(node):
    if "shape" in node and "dtype" in node and not isinstance(node["shape"], dict):
        return tuple(node["shape"])
    return {k: _shapes(v) for k, v in node.items()}


def _assert_layout_matches(layout, official, extras, where="file"):
    if isinstance(layout, (ModuleEntry, list)):
        assert official == expected_layout(layout), f"{where}: key/shape mismatch"
    elif isinstance(layout, TensorEntry):
        assert layout.accepts(official), f"{where}: {official} not accepted by {layout.shapes}"
    else:
        assert set(layout) <= set(official), f"{where}: official file lacks {set(layout) - set(official)}"
        assert set(official) - set(layout) <= set(extras), f"{where}: official entries we do not know: {set(official) - set(layout)}"
        for key, sub in layout.items():
            _assert_layout_matches(sub, official[key], extras, f"{where}[{key}]")


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_layout_equals_official_manifest(manifest_path):
    manifest = json.loads(manifest_path.read_text())
    entries = _shapes(manifest["entries"])
    relative = manifest["path"].removeprefix("checkpoints/")
    if "{" in relative:  # one manifest for several single-tensor files: entries keyed by file name
        files = {relative.split("{")[0] + name: entries[name] for name in entries}
    else:
        files = {relative: entries}
    for filename, official in files.items():
        spec = identify(filename)
        assert spec is not None and spec.filename == filename, f"no layout for official file {filename}"
        _assert_layout_matches(spec.layout, official, spec.extra_top_level, spec.filename)


SMALL_FILES = ["styleheat", "hfgi", "deep3d", "discriminator", "vgg19", "interfacegan_age", "ganspace", "wplus_pca", "bfm_landmarks"]


def _saved_tensors(layout, node):
    """{entry name: saved state dict or tensor}, read from a fake container the way the layout nests it."""
    if isinstance(layout, ModuleEntry):
        return {layout.name: {k[len(layout.prefix) :]: v for k, v in node.items() if k.startswith(layout.prefix) and not k.startswith("classifier.")}}
    if isinstance(layout, TensorEntry):
        return {layout.name: node}
    if isinstance(layout, list):
        return {name: value for entry in layout for name, value in _saved_tensors(entry, node).items()}
    return {name: value for key, sub in layout.items() for name, value in _saved_tensors(sub, node[key]).items()}


@pytest.mark.parametrize("key", SMALL_FILES)
def test_fake_official_file_loads_with_its_weights(tmp_path, key):
    spec = OFFICIAL_FILES[key]
    container = fake_container(spec.layout)
    if key == "styleheat":  # the trainer also writes these; the official loader ignores them
        container.update(net_G=container["net_G_ema"], opt_G={"state": {}, "param_groups": []}, current_epoch=3)
    if key == "vgg19":  # torchvision files carry the classifier too
        container["classifier.0.weight"] = torch.zeros(4, 4)
    saved = _saved_tensors(spec.layout, container)
    path = write_fake(spec, tmp_path, container)
    networks = loaders.load_networks(path, key)
    parts = validated_parts(path, spec)
    assert set(networks) | set(parts) == set(saved)
    for name, expected in saved.items():
        if name in networks:
            loaded = networks[name].state_dict()
            assert loaded.keys() == expected.keys()
            assert all(torch.equal(loaded[k], v.to(loaded[k].dtype)) for k, v in expected.items()), name
            assert not networks[name].training
        else:
            assert torch.allclose(parts[name].double(), expected.double()), name


def test_e4e_and_hfgi_load_into_encoder_networks_from_half_precision_files(tmp_path):
    e4e_path = write_fake(OFFICIAL_FILES["e4e"], tmp_path, dtype=torch.float16)
    hfgi_path = write_fake(OFFICIAL_FILES["hfgi"], tmp_path)
    saved = torch.load(e4e_path, weights_only=True)
    nets = loaders.load_encoder_networks(e4e_path, hfgi_path)
    weight = nets.e4e.state_dict()["styles.17.linear.weight"]
    assert weight.dtype == torch.float32
    assert torch.equal(weight, saved["encoder"]["styles.17.linear.weight"].float())
    assert torch.equal(nets.latent_avg, saved["latent_avg"].float())
    assert not nets.aligner.training and not nets.residual_encoder.training


def test_missing_file_names_file_folder_and_source(tmp_path):
    with pytest.raises(CheckpointError) as error:
        loaders.load_motion_networks(tmp_path / "StyleHEAT_visual.pt")
    message = str(error.value)
    assert "StyleHEAT_visual.pt not found" in message and "models/styleheat" in message and "release" in message


def test_truncated_file_is_reported_as_corrupt(tmp_path):
    path = write_fake(OFFICIAL_FILES["hfgi"], tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt or not a checkpoint") as error:
        loaders.load_networks(path, "hfgi")
    assert str(path) in str(error.value)


def test_wrong_file_names_expected_container_and_found_keys(tmp_path):
    path = write_fake(OFFICIAL_FILES["hfgi"], tmp_path)
    wrong = path.rename(tmp_path / "StyleHEAT_visual.pt")
    with pytest.raises(CheckpointError) as error:
        loaders.load_motion_networks(wrong)
    message = str(error.value)
    assert "is not StyleHEAT_visual.pt" in message and "net_G_ema" in message and "aligner" in message and "encoder" in message


def test_renamed_key_is_listed_as_missing_and_unexpected(tmp_path):
    spec = OFFICIAL_FILES["styleheat"]
    container = fake_container(spec.layout)
    weights = container["net_G_ema"]
    weights["calibrator.final_conv.0.weightt"] = weights.pop("calibrator.final_conv.0.weight")
    weights["video_warper.mapping_net.first.0.bias"] = torch.zeros(3)
    path = write_fake(spec, tmp_path, container)
    with pytest.raises(CheckpointError) as error:
        loaders.load_motion_networks(path)
    message = str(error.value)
    assert str(path) in message
    assert "mis-shaped keys: video_warper.mapping_net.first.0.bias: expected (256,), found (3,)" in message
    with pytest.raises(CheckpointError) as error:
        loaders.load_networks(_without_bad_bias(tmp_path, container), "styleheat")
    message = str(error.value)
    assert "missing keys: calibrator.final_conv.0.weight" in message
    assert "unexpected keys: calibrator.final_conv.0.weightt" in message


def _without_bad_bias(folder: Path, container) -> Path:
    container["net_G_ema"]["video_warper.mapping_net.first.0.bias"] = torch.zeros(256)
    return write_fake(OFFICIAL_FILES["styleheat"], folder / "second", container)


def test_directions_and_pcas_have_clear_shape_errors(tmp_path):
    path = tmp_path / "age.pt"
    torch.save(torch.zeros(3, 7), path)
    with pytest.raises(CheckpointError, match=r"expected the direction tensor of shape \(1, 512\) or \(512,\)"):
        loaders.load_interfacegan_direction(path)


def _mapped_from(tensor: torch.Tensor, path: Path) -> bool:
    """Whether the tensor's memory lies in a mapping of `path` (Linux /proc/self/maps)."""
    address = tensor.untyped_storage().data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, *_, name = line.split(maxsplit=5)
        start, end = (int(a, 16) for a in span.split("-"))
        if start <= address < end:
            return name == str(path)
    return False


def test_a_loaded_network_adopts_the_mapped_file_tensors_instead_of_copying_them(tmp_path):
    spec = OFFICIAL_FILES["styleheat"]
    path = write_fake(spec, tmp_path)
    state = validated_parts(path, spec)["video_warper"]
    key, weight = next((k, v) for k, v in state.items() if v.numel() > 1000)
    assert _mapped_from(weight, path), "a .pth zip archive is memory-mapped, not read into memory"
    warper = checkpoints.build_module(spec.layout["net_G_ema"][0], state)
    adopted = warper.state_dict()[key]
    assert adopted.untyped_storage().data_ptr() == weight.untyped_storage().data_ptr(), "the network holds the file's tensor, not a copy"
    assert torch.equal(adopted, weight)


def test_a_legacy_torch_file_is_read_without_memory_mapping(tmp_path):
    spec = OFFICIAL_FILES["interfacegan_age"]
    path = tmp_path / "legacy.pt"
    direction = torch.randn(1, 512)
    torch.save(direction, path, _use_new_zipfile_serialization=False)
    assert torch.equal(checkpoints.read_container(path, spec), direction)


class _WithConstant(nn.Module):
    """A network that makes a tensor of its own in __init__ (not in any checkpoint)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.offset = torch.arange(2.0)

    def forward(self, x):
        return self.linear(x) + self.offset


def test_a_network_with_its_own_constants_is_built_normally_and_keeps_them():
    state = {"linear.weight": torch.ones(2, 3), "linear.bias": torch.zeros(2)}
    module = checkpoints.build_module(ModuleEntry("with_constant", _WithConstant), state)
    assert not module.offset.is_meta
    assert torch.equal(module(torch.ones(1, 3)), torch.tensor([[3.0, 4.0]]))
