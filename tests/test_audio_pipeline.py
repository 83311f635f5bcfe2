"""Audio-driven reenactment end to end (tiny StyleGAN, few frames) and the AudioWarper training recipe."""

import numpy as np
import pytest
import torch

from styleheat_core.audio.drive import audio_drive
from styleheat_core.audio.frames import frame_count, mel_frames
from styleheat_core.audio.sadtalker import PoseOptions
from styleheat_core.audio.waveform import speech_16k
from styleheat_core.models.calibrator import CalibrationNet
from styleheat_core.models.flow import coordinate_grid
from styleheat_core.models.stylegan2 import Generator
from styleheat_core.models.warper import AudioWarper, VideoWarper
from styleheat_core.pipeline.audio_motion import LipMotion, with_audio_flow
from styleheat_core.pipeline.decode import WarpedFeatures, decode_chunks
from styleheat_core.pipeline.forward import MotionNetworks, predict_motion
from styleheat_core.pipeline.handles import LocalModel
from styleheat_core.pipeline.inversion import OptimizedInversion
from styleheat_core.pipeline.motion import CoefficientMotion
from styleheat_core.pipeline.source import SourceLatent
from styleheat_core.preprocess.semantics import semantic_windows
from styleheat_core.train.audio_warper import (
    AudioWarperBatch,
    audio_warper_loss,
    audio_warper_step,
    pose_aligned_window,
    synthesize_pose_aligned,
)
from tests.support.golden import network_state_dict, sadtalker_golden_dir
from tests.support.sadtalker import recipe_networks

FPS = 25
needs_sadtalker_cases = pytest.mark.skipif(not sadtalker_golden_dir().parent.is_dir(), reason="../shared/golden (SadTalker cases) is absent")


def _loaded(module: torch.nn.Module, network: str) -> torch.nn.Module:
    module.load_state_dict(network_state_dict(network), strict=True)
    return module.eval()


@pytest.fixture(scope="module")
def motion():
    torch.manual_seed(0)
    generator = Generator(64, 512, 2, channel_multiplier=2).eval()  # the smallest StyleGAN with the 64x64 feature layer
    nets = MotionNetworks(_loaded(VideoWarper(), "video_warper"), _loaded(CalibrationNet(64, 512, 512, 2, 1), "calibrator"))
    source = OptimizedInversion(
        w_plus=torch.randn(1, generator.n_latent, 512),
        feature=torch.randn(1, 512, 64, 64),
        image256=torch.rand(1, 3, 256, 256) * 2 - 1,
    )
    return generator, nets, AudioWarper().eval(), source


@needs_sadtalker_cases
def test_audio_driven_frames_follow_the_audio_length(motion):
    generator, nets, audio_warper, source = motion
    rate, seconds = 44100, 0.15
    t = np.arange(int(rate * seconds)) / rate
    stereo = np.stack([np.sin(2 * np.pi * 200 * t), 0.5 * np.sin(2 * np.pi * 310 * t)]).astype(np.float32) * 0.4
    audio = {"waveform": torch.from_numpy(stereo)[None], "sample_rate": rate}
    source_semantics = torch.randn(73) * 0.1
    drive = audio_drive(recipe_networks(), audio, source_semantics, FPS, PoseOptions(style=3))
    expected = frame_count(len(drive.speech.samples), FPS)
    assert drive.num_frames == expected == int(np.ceil(seconds * FPS))
    nets_handle, generator_handle = LocalModel(nets), LocalModel(generator)
    lips = LipMotion(CoefficientMotion(nets_handle, drive.semantics), generator_handle, LocalModel(audio_warper), mel_frames(speech_16k(audio), FPS))
    features = WarpedFeatures(SourceLatent(source, generator_handle, None), lips, nets_handle)
    video = torch.cat(list(decode_chunks(generator, features, 256, 2)))
    assert video.shape == (expected, 256, 256, 3) and torch.isfinite(video).all()


@torch.no_grad()
def test_audio_flow_comes_after_the_video_flow_with_its_upper_half_zeroed(motion):
    generator, nets, audio_warper, source = motion
    windows = semantic_windows(torch.randn(1, 73).expand(3, 73))
    mel = torch.rand(3, 80, 32) * 8 - 4
    video = predict_motion(nets.video_warper, source.image256, windows)
    result = with_audio_flow(generator, audio_warper, source, video, mel)
    assert len(result.grids) == 2 and result.grids[1].shape == (3, 64, 64, 2)
    assert torch.equal(result.grids[0], video.grids[0]) and torch.equal(result.descriptor, video.descriptor)
    identity = coordinate_grid(3, 64, 64, result.grids[1])
    assert torch.allclose(result.grids[1][:, :32], identity[:, :32], atol=1e-6)
    with pytest.raises(ValueError, match="one mel window per frame"):
        with_audio_flow(generator, audio_warper, source, video, mel[:2])


def _batch(size: int = 64) -> AudioWarperBatch:
    g = torch.Generator().manual_seed(0)
    return AudioWarperBatch(
        source_image=torch.rand(1, 3, size, size, generator=g) * 2 - 1,
        source_window=torch.randn(1, 73, 27, generator=g),
        target_window=torch.randn(1, 73, 27, generator=g),
        target_mel=torch.rand(1, 80, 32, generator=g) * 8 - 4,
        target_image=torch.rand(1, 3, size, size, generator=g) * 2 - 1,
    )


def test_pose_aligned_window_takes_the_source_expression():
    batch = _batch()
    window = pose_aligned_window(batch.target_window, batch.source_window)
    assert torch.equal(window[:, :64], batch.source_window[:, :64]) and torch.equal(window[:, 64:], batch.target_window[:, 64:])


def test_training_step_updates_only_the_audio_warper():
    torch.manual_seed(0)
    video_warper, audio_warper = VideoWarper().eval().requires_grad_(False), AudioWarper()
    batch = _batch()
    video_before = {k: v.clone() for k, v in video_warper.state_dict().items()}
    audio_before = {k: v.clone() for k, v in audio_warper.state_dict().items()}
    optimizer = torch.optim.Adam(audio_warper.parameters(), lr=1e-3)
    terms = audio_warper_step(audio_warper, optimizer, video_warper, batch, perceptual=lambda a, b: (a - b).pow(2).mean())
    assert set(terms) == {"l1", "perceptual", "total"} and np.isfinite(terms["total"])
    assert terms["total"] == pytest.approx(terms["l1"] + terms["perceptual"], rel=1e-5)
    assert all(torch.equal(v, video_before[k]) for k, v in video_warper.state_dict().items())
    assert any(not torch.equal(v, audio_before[k]) for k, v in audio_warper.state_dict().items())
    pose_aligned = synthesize_pose_aligned(video_warper, batch)
    assert pose_aligned.shape == batch.source_image.shape and not pose_aligned.requires_grad
    loss, _ = audio_warper_loss(audio_warper, pose_aligned, batch)
    loss.backward()
    assert audio_warper.audio_encoder.first[0].weight.grad.abs().sum() > 0
