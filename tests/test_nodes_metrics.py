"""The StyleHEAT Metrics node: two IMAGE batches in, a table and JSON out, bad input refused."""

import json

import numpy as np
import pytest
import torch

from styleheat_core.evaluate.psnr_ssim import psnr, ssim
from tests.support.metrics import write_standin
from tests.support.pack import node


@pytest.fixture
def models(tmp_path, monkeypatch):
    write_standin("metric_alexnet", tmp_path, seed=1)
    write_standin("metric_lpips_alex", tmp_path, seed=2)
    monkeypatch.setenv("STYLEHEAT_MODELS_DIR", str(tmp_path))
    return tmp_path


def _images(seed: int, count: int = 3, size: int = 48) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (count, size, size, 3)).astype(np.float32) / 255.0)


def test_metrics_node_reports_a_table_and_json(models):
    generated, reference = _images(1), _images(2)
    text, data = node("StyleHEAT_Metrics").run(generated, reference, lpips=True, csim=False, fid=False, resize=False)
    report = json.loads(data)
    as_u8 = [torch.round(x * 255).to(torch.uint8) for x in (generated, reference)]
    assert report["metrics"]["psnr"]["value"] == pytest.approx(psnr(*as_u8).mean().item(), rel=1e-12)
    assert report["metrics"]["ssim"]["value"] == pytest.approx(ssim(*as_u8).mean().item(), rel=1e-12)
    assert report["metrics"]["lpips"]["value"] > 0 and set(report["metrics"]) == {"psnr", "ssim", "lpips"}
    assert "PSNR ↑" in text and "LPIPS ↓" in text and "3 frame(s)" in text


def test_metrics_node_tooltips_cover_every_socket():
    cls = type(node("StyleHEAT_Metrics"))
    inputs = cls.INPUT_TYPES()["required"]
    assert all("tooltip" in options for _, options in inputs.values())
    assert len(cls.OUTPUT_TOOLTIPS) == len(cls.RETURN_TYPES) == 2


@pytest.mark.parametrize(
    "generated,reference,kwargs,message",
    [
        (_images(1, count=2), _images(2), {}, "different numbers of frames: 2 predicted, 3 reference"),
        (_images(1, size=64), _images(2), {}, "different resolutions: predicted 64x64, reference 48x48"),
        (_images(1).index_put((torch.tensor([1]), torch.tensor([2]), torch.tensor([2])), torch.tensor(float("nan"))), _images(2), {}, "generated frame 1 must hold finite values"),
        (_images(1, count=1), _images(2, count=1), {"fid": True}, "(?s)the metrics need files that are missing:.*metrics/pt_inception.*mseitzer/pytorch-fid"),
    ],
)
def test_metrics_node_refuses_bad_input(models, generated, reference, kwargs, message):
    options = {"lpips": False, "csim": False, "fid": False, "resize": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        node("StyleHEAT_Metrics").run(generated, reference, **options)
