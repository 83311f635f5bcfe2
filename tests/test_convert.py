"""python -m styleheat_core.convert: verified safetensors twins that the same loaders accept."""

import subprocess
import sys

import pytest
import torch

from styleheat_core.convert import main
from styleheat_core.io import loaders
from styleheat_core.io.layouts import OFFICIAL_FILES
from tests.support.fake_checkpoints import fake_container, write_fake


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
