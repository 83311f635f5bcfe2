"""CUDA graphs for the chunk step (`pipeline/cuda_graph.py`), checked without a GPU.

The step's control flow and the renderer's chunk function run under emulated CUDA graphs
(`tests/support/cuda_graph_emulator.py`: a replay re-runs the recorded operations on the tensors
recorded at capture), so a chunk that depended on anything but its inputs would replay stale frames
here as it would on a GPU. The GPU code path itself runs on the meta device under `HostAccessCheck`,
which fails at any host read or host copy, the operations a capture cannot hold.
"""

from __future__ import annotations

import itertools
import logging
from functools import partial

import pytest
import torch

from styleheat_core.audio.frames import MelFrames
from styleheat_core.models.calibrator import CalibrationNet
from styleheat_core.models.stylegan2 import Generator
from styleheat_core.models.warper import AudioWarper, VideoWarper
from styleheat_core.pipeline.audio_motion import LipMotion
from styleheat_core.pipeline.cuda_graph import GraphedStep
from styleheat_core.pipeline.decode import WarpedFeatures, decode_video
from styleheat_core.pipeline.forward import MotionNetworks, shared_below
from styleheat_core.pipeline.handles import LocalModel
from styleheat_core.pipeline.inversion import ENCODER_SIZE, OptimizedInversion
from styleheat_core.pipeline.motion import CoefficientMotion
from styleheat_core.pipeline.source import SourceLatent
from tests.support import cuda_graph_emulator
from tests.support.cuda_graph_emulator import CaptureError, HostAccessCheck
from tests.support.golden import GoldenCase, network_state_dict

FRAMES = 7


def _source(generator: Generator, device: torch.device | str = "cpu") -> OptimizedInversion:
    seeded = torch.Generator().manual_seed(1)
    w_plus = torch.randn(1, generator.n_latent, generator.style_dim, generator=seeded)
    feature = torch.randn(1, 512, 64, 64, generator=seeded)
    image256 = torch.rand(1, 3, ENCODER_SIZE, ENCODER_SIZE, generator=seeded) * 2 - 1
    return OptimizedInversion(w_plus.to(device), feature.to(device), image256.to(device))


def _motions(generator: Generator, networks: MotionNetworks, audio_warper: AudioWarper, coefficients: torch.Tensor) -> dict:
    """The video motion and the same with the audio lip flow after it."""
    video = CoefficientMotion(LocalModel(networks), coefficients)
    mel = MelFrames((torch.rand(80, 4 * FRAMES + 40, generator=torch.Generator().manual_seed(2)) * 8 - 4).numpy(), FRAMES, 25.0)
    return {"video": video, "video+audio": LipMotion(video, LocalModel(generator), LocalModel(audio_warper), mel)}


@pytest.fixture(scope="module")
def networks():
    torch.manual_seed(0)
    generator = Generator(64, 512, 2, channel_multiplier=2).eval().requires_grad_(False)
    video_warper, calibrator = VideoWarper(), CalibrationNet(64, 512, 512, 2, 1)
    video_warper.load_state_dict(network_state_dict("video_warper"), strict=True)
    calibrator.load_state_dict(network_state_dict("calibrator"), strict=True)
    motion = MotionNetworks(video_warper, calibrator).eval().requires_grad_(False)
    audio_warper = AudioWarper().eval().requires_grad_(False)
    coefficients = GoldenCase.load("end_to_end").input("in.coeff_sequence")[:FRAMES]
    return generator, motion, audio_warper, coefficients


@pytest.mark.parametrize("kind", ["video", "video+audio"])
def test_replayed_chunks_are_the_eager_chunks(networks, kind, monkeypatch):
    generator, motion, audio_warper, coefficients = networks
    flow = _motions(generator, motion, audio_warper, coefficients)[kind]
    source = _source(generator)
    features = WarpedFeatures(SourceLatent(source, LocalModel(generator), None), flow, LocalModel(motion))
    chunk = partial(features.renderer(generator).chunk_frames, source, shared_below(generator, source))
    chunks = [[0, 1], [2, 3], [4, 5], [6]]
    with torch.no_grad():  # as the renderer runs it
        eager = [chunk(*flow.inputs(frames)) for frames in chunks]
    cuda_graph_emulator.install(monkeypatch)
    step = GraphedStep(chunk, torch.device("cpu"))  # the graph's input tensors on the CPU, as the emulator keeps them
    captures = []
    for frames, expected in zip(chunks, eager):
        replayed = step(*flow.inputs(frames))
        captures.append(step.captures)
        torch.testing.assert_close(replayed, expected, rtol=0, atol=1e-6, msg=f"{kind}, frames {frames}")
    assert step.eager_reason is None
    assert captures == [0, 1, 1, 1]  # seen once: eager; seen again: captured; the single last frame stays eager
    assert (eager[2] - eager[1]).abs().max() > 1e-3  # the chunks differ, so a stale replay could not pass


def test_a_host_read_during_capture_leaves_the_step_eager(monkeypatch, caplog):
    cuda_graph_emulator.install(monkeypatch)

    def scaled(x: torch.Tensor) -> torch.Tensor:
        return x * float(x.abs().max())  # a host read: allowed eagerly, not in a graph

    step = GraphedStep(scaled, torch.device("cpu"))
    inputs = [torch.full((2, 3), float(v)) for v in (1, 2, 3)]
    with caplog.at_level(logging.WARNING, logger="styleheat"):
        results = [step(x) for x in inputs]
    for x, result in zip(inputs, results):
        torch.testing.assert_close(result, scaled(x), rtol=0, atol=0)
    assert step.captures == 0 and "capture failed" in step.eager_reason
    assert "CUDA graphs off for this render" in caplog.text


def test_a_replay_that_disagrees_with_the_eager_result_leaves_the_step_eager(monkeypatch, caplog):
    cuda_graph_emulator.install(monkeypatch)
    calls = itertools.count()

    def drifting(x: torch.Tensor) -> torch.Tensor:
        return x + next(calls)  # a Python number per call: a graph would freeze it

    step = GraphedStep(drifting, torch.device("cpu"))
    with caplog.at_level(logging.WARNING, logger="styleheat"):
        step(torch.zeros(3))
        second = step(torch.zeros(3))
    assert step.captures == 0 and "differs from the eager result" in step.eager_reason
    torch.testing.assert_close(second, torch.full((3,), 4.0))  # the eager call after the capture, not the frozen capture's 3
    third = step(torch.zeros(3))
    assert third[0].item() == 5.0  # eager from then on (the warm-ups took 1 and 2, the capture 3, the check 4)


def test_on_the_cpu_asking_for_graphs_renders_eagerly(networks):
    generator, motion, _, coefficients = networks
    source = _source(generator)
    features = WarpedFeatures(
        SourceLatent(source, LocalModel(generator), None), CoefficientMotion(LocalModel(motion), coefficients), LocalModel(motion)
    )
    torch.testing.assert_close(
        decode_video(generator, features, 256, 3, cuda_graphs=True), decode_video(generator, features, 256, 3), rtol=0, atol=0
    )
    renderer = features.renderer(generator, cuda_graphs=True)
    renderer([0, 1])
    assert renderer.graph_status() == "eager: CUDA graphs need a CUDA device, not cpu"


@pytest.mark.parametrize("kind", ["video", "video+audio"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_the_gpu_path_of_a_chunk_reads_nothing_from_the_host(kind, dtype):
    """The real-size networks on the meta device (the branches a CUDA device takes), checked op by op."""
    meta = torch.device("meta")
    with meta:
        generator = Generator(1024, 512, 8, channel_multiplier=2).eval().to(dtype)
        motion = MotionNetworks(VideoWarper(), CalibrationNet(64, 512, 512, 2, 1)).eval().to(dtype)
        audio_warper = AudioWarper().eval().to(dtype)
    coefficients = torch.randn(FRAMES, 73, generator=torch.Generator().manual_seed(3))
    flow = _motions(generator, motion, audio_warper, coefficients)[kind]
    source = _source(generator, meta)
    features = WarpedFeatures(SourceLatent(source, LocalModel(generator), None), flow, LocalModel(motion))
    below = shared_below(generator, source)
    inputs = tuple(t.to(meta) for t in flow.inputs([0, 1, 2]))  # what GraphedStep copies into the graph's inputs
    with torch.no_grad(), HostAccessCheck():
        frames = features.renderer(generator).chunk_frames(source, below, *inputs)
    assert frames.shape == (3, 3, 1024, 1024) and frames.dtype == dtype


def test_the_host_access_check_catches_host_reads_and_copies():
    x = torch.ones(2, device="meta")
    for operation in (lambda: x.sum().item(), lambda: torch.equal(x, x), lambda: x + torch.ones(2).to("meta"), lambda: x.cpu()):
        with pytest.raises(CaptureError), HostAccessCheck():
            operation()
