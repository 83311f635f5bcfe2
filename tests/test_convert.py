"""python -m styleheat_core.convert: verified safetensors twins that the same loaders accept."""

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from styleheat_core.convert import convert_file, main
from styleheat_core.io import loaders
from styleheat_core.io.checkpoints import CheckpointError
from styleheat_core.io.layouts import OFFICIAL_FILES
from tests.support.fake_checkpoints import fake_container, write_fake
from tests.support.hostile_files import code_running_pickle, harmless_pickle


@pytest.mark.parametrize("fp16", [False, True])
def test_converted_files_load_through_the_same_loaders(tmp_path, fp16):
    source = tmp_path / "official"
    visual = fake_container(OFFICIAL_FILES["styleheat"].layout)
    visual.update(net_G=visual["net_G_ema"], opt_G={"state": {}, "param_groups": []})
    visual_path = write_fake(OFFICIAL_FILES["styleheat"], source, visual)
    direction_path = write_fake(OFFICIAL_FILES["interfacegan_age"], source)
    hfgi_path = write_fake(OFFICIAL_FILES["hfgi"], source)
    out = tmp_path / "converted"
    assert main([str(visual_path), str(direction_path), str(hfgi_path), "--out-dir", str(out)] + (["--fp16"] if fp16 else [])) == 0

    converted = loaders.load_motion_networks(out / "StyleHEAT_visual.safetensors")
    for name, net in (("video_warper", converted.video_warper), ("calibrator", converted.calibrator)):
        for key, value in net.state_dict().items():
            expected = visual["net_G_ema"][f"{name}.{key}"]
            expected = expected.half().float() if fp16 and expected.is_floating_point() else expected
            assert torch.equal(value, expected), key
    assert torch.equal(loaders.load_interfacegan_direction(out / "age.safetensors"), loaders.load_interfacegan_direction(direction_path).half().float() if fp16 else loaders.load_interfacegan_direction(direction_path))
    aligner = loaders.load_networks(out / "hfgi.safetensors", "hfgi")["aligner"]
    assert aligner.state_dict()["conv_layer1.1.num_batches_tracked"].dtype == torch.int64
    size = (out / "StyleHEAT_visual.safetensors").stat().st_size
    params = sum(v.numel() for v in visual["net_G_ema"].values())
    assert size < params * (2 if fp16 else 4) * 1.01  # net_G and opt_G are not carried over


def test_unknown_file_is_recognised_by_content_or_refused(tmp_path):
    renamed = write_fake(OFFICIAL_FILES["hfgi"], tmp_path).rename(tmp_path / "my_hfgi_copy.pth")
    assert main([str(renamed), "--verify-only"]) == 0
    junk = tmp_path / "notes.pth"
    torch.save({"hello": torch.zeros(2)}, junk)
    result = subprocess.run([sys.executable, "-m", "styleheat_core.convert", str(junk), "--verify-only"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "not recognised as any official StyleHEAT file" in result.stderr


def test_verify_only_reports_a_bad_file_and_exits_non_zero(tmp_path, capsys):
    path = write_fake(OFFICIAL_FILES["hfgi"], tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    assert main([str(path), "--verify-only"]) == 1
    assert "truncated, corrupt or not a checkpoint" in capsys.readouterr().err


def _hfgi_safetensors(tmp_path):
    source = write_fake(OFFICIAL_FILES["hfgi"], tmp_path / "official")
    assert main([str(source), "--out-dir", str(tmp_path / "models")]) == 0
    return tmp_path / "models" / "hfgi.safetensors"


def test_convert_refuses_to_write_onto_its_own_input(tmp_path, capsys):
    converted = _hfgi_safetensors(tmp_path)
    before = converted.read_bytes()
    assert main([str(converted), "--fp16"]) == 1
    assert "would be written onto the file itself" in capsys.readouterr().err
    assert converted.read_bytes() == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_convert_refuses_a_target_that_is_its_input_through_a_link(tmp_path, capsys, link):
    converted = _hfgi_safetensors(tmp_path)
    before = converted.read_bytes()
    other = tmp_path / "other"
    other.mkdir()
    alias = other / "hfgi.safetensors"
    alias.symlink_to(converted) if link == "symlink" else alias.hardlink_to(converted)
    assert main([str(converted), "--fp16", "--out-dir", str(other)]) == 1
    assert "would be written onto the file itself" in capsys.readouterr().err
    assert converted.read_bytes() == before and alias.read_bytes() == before


def test_a_failed_write_leaves_the_previous_copy_and_no_temporary_file(tmp_path, monkeypatch):
    converted = _hfgi_safetensors(tmp_path)
    before = converted.read_bytes()
    source = tmp_path / "official" / "hfgi.pth"

    def interrupted(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr("styleheat_core.convert.save_file", interrupted)
    with pytest.raises(OSError, match="disk full"):
        convert_file(source, converted.parent, fp16=True)
    assert converted.read_bytes() == before
    assert sorted(p.name for p in converted.parent.iterdir()) == ["hfgi.safetensors"]


def test_trust_this_file_makes_a_safe_copy_of_an_official_file_with_python_objects(tmp_path, capsys):
    spec = OFFICIAL_FILES["hfgi"]
    container = fake_container(spec.layout)
    path = tmp_path / "hfgi.pth"
    torch.save(harmless_pickle(container), path)
    with pytest.raises(CheckpointError, match="--trust-this-file"):
        loaders.load_networks(path, "hfgi")
    assert main(["--trust-this-file", str(path), "--out-dir", str(tmp_path / "safe")]) == 0
    captured = capsys.readouterr()
    assert "full unpickling" in captured.err and "source you trust" in captured.err
    aligner = loaders.load_networks(tmp_path / "safe" / "hfgi.safetensors", "hfgi")["aligner"]
    for key, value in aligner.state_dict().items():
        assert torch.equal(value, container["aligner"][key]), key


def test_trust_this_file_keeps_the_tensors_of_a_user_direction(tmp_path):
    direction = torch.randn(18, 512)
    path = tmp_path / "smile.pt"
    torch.save(harmless_pickle({"direction": direction}), path)
    assert main(["--trust-this-file", str(path)]) == 0
    assert torch.equal(loaders.load_direction_file(tmp_path / "smile.safetensors"), direction)


def test_trust_this_file_is_the_only_way_code_would_run(tmp_path):
    """The opt-in really unpickles (documented): a crafted file's code runs only there, never in a plain convert."""
    marker = tmp_path / "marker"
    path = code_running_pickle(tmp_path / "weights.pt", marker)
    assert main([str(path), "--verify-only"]) == 1 and not marker.exists()
    assert main(["--trust-this-file", str(path)]) == 0
    assert marker.exists()
    assert torch.equal(load_file(str(tmp_path / "weights.safetensors"))["weight"], torch.zeros(2))


def test_trust_this_file_cannot_be_combined_with_verify_only(tmp_path):
    with pytest.raises(SystemExit):
        main(["--trust-this-file", str(tmp_path / "x.pt"), "--verify-only"])
