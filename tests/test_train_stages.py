"""Stages 1, 2 and audio on a synthetic mini dataset: losses fall, checkpoints load for inference, resume is exact."""

import pytest
import torch

from styleheat_core.io.loaders import load_audio_warper, load_motion_networks
from styleheat_core.models.calibrator import ResUpBlock
from styleheat_core.models.discriminator import Discriminator
from styleheat_core.models.ops import ResBlock
from styleheat_core.models.warper import VideoWarper
from styleheat_core.pipeline.forward import MotionNetworks
from styleheat_core.train.audio_warper import AudioStage
from styleheat_core.train.checkpoint import checkpoint_path, load_video_warper, save_checkpoint, styleheat_networks
from styleheat_core.train.data import PairDataset, PairOptions
from styleheat_core.train.engine import TrainConfig, train
from styleheat_core.train.prepare import PrepareOptions, prepare_dataset
from styleheat_core.train.stage1 import WarperStage
from styleheat_core.train.stage2 import CalibrationStage, FrozenNetworks
from tests.support.train_fakes import (
    DrawnFaceBackend,
    TinyCalibrator,
    TinyDiscriminator,
    TinyGenerator,
    TinyInverter,
    TinyVGG,
    landmark_coefficients,
    synthetic_videos,
)

STEPS = 16


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    synthetic_videos(root / "videos")
    prepare_dataset(root / "videos", root / "data", landmark_coefficients, PrepareOptions(128, aligned=True, test_fraction=0.25), DrawnFaceBackend(), progress=False)
    return root / "data"


def config(out, steps=STEPS, **kw):
    return TrainConfig(str(out), steps, 2, lr=1e-3, log_every=1, sample_every=STEPS // 2, save_every=STEPS // 2, workers=0, device="cpu", **kw)


def stage1(data):
    torch.manual_seed(0)
    return WarperStage(TinyVGG()), PairDataset(data, "train", PairOptions(64, mirror_probability=0.5))


def stage2(data):
    torch.manual_seed(0)
    generator = TinyGenerator()
    frozen = FrozenNetworks(generator, TinyInverter(generator), TinyDiscriminator(), 32)
    stage = CalibrationStage(VideoWarper(), TinyCalibrator(), frozen, TinyVGG(), image_size=64)
    return stage, PairDataset(data, "train", PairOptions(64, aligned=True))


def assert_learns_and_resumes(make, data, tmp_path):
    stage, dataset = make(data)
    first = train(stage, dataset, config(tmp_path / "a"))
    losses = [r["total"] for r in first]
    assert sum(losses[-4:]) < sum(losses[:4]) * 0.95, losses
    assert (tmp_path / "a" / "samples" / f"iteration_{STEPS:08d}.png").is_file()
    stage, dataset = make(data)
    resumed = train(stage, dataset, config(tmp_path / "b"), resume=str(checkpoint_path(tmp_path / "a", STEPS // 2)))
    assert [r["step"] for r in resumed] == list(range(STEPS // 2 + 1, STEPS + 1))
    torch.testing.assert_close([r["total"] for r in resumed], losses[STEPS // 2 :], rtol=1e-5, atol=1e-6)
    a, b = (torch.load(checkpoint_path(tmp_path / x, STEPS), weights_only=True) for x in "ab")
    for key in a["net_G"]:
        torch.testing.assert_close(a["net_G"][key], b["net_G"][key])
    assert a["current_iteration"] == STEPS
    return tmp_path / "a"


def test_stage1_learns_resumes_and_feeds_stage2(data, tmp_path):
    run = assert_learns_and_resumes(stage1, data, tmp_path)
    warper = load_video_warper(run / "checkpoints" / "latest.pt")
    ema = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)["net_G_ema"]
    torch.testing.assert_close(warper.state_dict()["mapping_net.first.0.weight"], ema["mapping_net.first.0.weight"])


def test_stage2_learns_and_resumes(data, tmp_path):
    run = assert_learns_and_resumes(stage2, data, tmp_path)
    ema = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)["net_G_ema"]
    assert {k.split(".")[0] for k in ema} == {"video_warper", "calibrator"}


def test_stage2_container_loads_through_load_motion_networks(tmp_path):
    nets = styleheat_networks()
    model = MotionNetworks(nets["video_warper"], nets["calibrator"])
    state = model.state_dict()
    save_checkpoint(tmp_path, {"net_G_ema": state, "net_G": state, "opt_G": {}, "sch_G": {}, "current_epoch": 0, "current_iteration": 1})
    loaded = load_motion_networks(tmp_path / "checkpoints" / "latest.pt")
    torch.testing.assert_close(loaded.calibrator.state_dict()["final_conv.0.weight"], state["calibrator.final_conv.0.weight"])


def test_audio_stage_trains_and_loads(data, tmp_path):
    torch.manual_seed(0)
    stage = AudioStage(VideoWarper())
    records = train(stage, PairDataset(data, "train", PairOptions(64, mel=True)), config(tmp_path, steps=3))
    assert len(records) == 3 and all(torch.isfinite(torch.tensor(r["total"])) for r in records)
    load_audio_warper(tmp_path / "checkpoints" / "latest.pt")


def test_gradients_pass_through_the_real_discriminator():
    image = torch.randn(4, 3, 8, 8, requires_grad=True)
    Discriminator(8).requires_grad_(False)(image).sum().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0


def test_the_residual_blocks_train_as_they_infer():
    """In-place residual sums (inference) and out-of-place ones (training) give the same values, and gradients flow."""
    torch.manual_seed(0)
    for block, shape in ((ResBlock(8, 16), (2, 8, 8, 8)), (ResUpBlock(8, 4), (2, 8, 4, 4))):
        x = torch.randn(shape, requires_grad=True)
        trained = block(x)
        trained.square().sum().backward()
        with torch.no_grad():
            torch.testing.assert_close(block(x), trained, rtol=0, atol=0)
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0 and block.conv1[0].weight.grad is not None
