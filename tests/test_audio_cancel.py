"""Audio Flow on long audio: every loop (spectrogram, expression, pose) reports progress and stops within 2 s
of Cancel, in the core (a callback that raises) and in the node (ComfyUI's interrupt)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from styleheat_core.audio.drive import audio_drive
from styleheat_core.audio.frames import mel_frames
from styleheat_core.audio.mel import melspectrogram
from styleheat_core.audio.sadtalker import (
    PoseOptions,
    SadTalkerAudioNetworks,
    audio_coefficients,
    pose_chunks,
    predict_expression,
    predict_pose,
)
from styleheat_core.audio.waveform import SAMPLE_RATE, Speech
from styleheat_core.models.sadtalker_audio2exp import SimpleWrapperV2
from styleheat_core.models.sadtalker_audio2pose import Audio2Pose
from styleheat_core.progress import stage_callbacks
from tests.support.pack import node, pack

CANCEL_WITHIN_S = 2.0
SECONDS = 60  # a minute of audio takes far longer than the cancel delay in every loop


class Cancelled(Exception):
    pass


class CancelAfter:
    """A progress callback that raises on its first call after `delay` seconds, noting when it did."""

    def __init__(self, delay: float):
        self.deadline = time.monotonic() + delay
        self.calls: list[tuple[int, int]] = []
        self.raised_at: float | None = None

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))
        if time.monotonic() >= self.deadline:
            self.raised_at = time.monotonic()
            raise Cancelled

    def lateness(self) -> float:
        return self.raised_at - self.deadline


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Syllable-rate modulated harmonics with noise: speech-like energy at 16 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.3 * t)
    voice = sum(np.sin(2 * np.pi * k * np.cumsum(pitch) / SAMPLE_RATE) / k for k in range(1, 6))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
    return (0.2 * envelope * voice + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def nets() -> SadTalkerAudioNetworks:
    torch.manual_seed(0)
    return SadTalkerAudioNetworks(SimpleWrapperV2().eval(), Audio2Pose().eval())


@pytest.fixture(scope="module")
def long_speech() -> np.ndarray:
    return speech_like(SECONDS)


@pytest.fixture(scope="module")
def long_mel(long_speech):
    return mel_frames(Speech(long_speech), 25)


def test_stage_callbacks_run_one_bar_over_every_stage():
    seen = []
    first, second, third = stage_callbacks(lambda done, total: seen.append((done, total)), [1, 4, 0])
    first(5, 10), first(10, 10), second(1, 2), second(2, 2), third(3, 3)
    assert seen == [(0, 5), (1, 5), (3, 5), (5, 5), (5, 5)]
    assert stage_callbacks(None, [1, 2]) == [None, None]


def test_the_spectrogram_reports_and_stops_within_2_s(long_speech):
    samples = np.tile(long_speech, 3)
    cancel = CancelAfter(0.2)
    with pytest.raises(Cancelled):
        melspectrogram(samples, progress=cancel)
    assert cancel.lateness() < CANCEL_WITHIN_S
    assert cancel.calls[-1][0] < cancel.calls[-1][1] == 1 + len(samples) // 200


def test_the_expression_loop_reports_and_stops_within_2_s(nets, long_mel):
    cancel = CancelAfter(0.5)
    with pytest.raises(Cancelled):
        predict_expression(nets.audio2exp, long_mel, torch.zeros(64), torch.zeros(long_mel.num_frames, 1), cancel)
    assert cancel.lateness() < CANCEL_WITHIN_S
    assert cancel.calls[0] == (64, long_mel.num_frames) and cancel.calls[-1][0] < long_mel.num_frames


def test_the_pose_loop_reports_and_stops_within_2_s(nets, long_mel):
    chunks = pose_chunks(long_mel.num_frames)
    cancel = CancelAfter(0.5)
    with pytest.raises(Cancelled):
        predict_pose(nets.audio2pose, long_mel, torch.zeros(6), 0, torch.zeros(chunks, 64), cancel)
    assert cancel.lateness() < CANCEL_WITHIN_S
    assert cancel.calls[0] == (1, chunks) and cancel.calls[-1][0] < chunks


def test_a_complete_run_reports_every_stage_once_up_to_the_total(nets):
    seen = []
    audio = {"waveform": torch.from_numpy(speech_like(1.6))[None, None], "sample_rate": SAMPLE_RATE}
    drive = audio_drive(nets, audio, torch.zeros(73), 25, PoseOptions(), progress=lambda done, total: seen.append((done, total)))
    totals = {total for _, total in seen}
    assert drive.num_frames == 40 and len(totals) == 1 and len(seen) == 1 + 1 + pose_chunks(40)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == totals.pop()
    still = []
    audio_coefficients(nets, drive.mel, torch.zeros(73), PoseOptions(still=True), progress=lambda d, t: still.append((d, t)))
    assert still == [(40, 40)]


def test_audio_flow_stops_on_comfyui_cancel_within_2_s(nets, long_speech, monkeypatch):
    comfy = pack().nodes.comfy
    pressed_at = time.monotonic() + 1.0

    class Interrupted(Exception):
        pass

    def throw_if_interrupted():
        if time.monotonic() >= pressed_at:
            raise Interrupted

    monkeypatch.setattr(comfy, "model_management", SimpleNamespace(throw_exception_if_processing_interrupted=throw_if_interrupted))
    audio = {"waveform": torch.from_numpy(long_speech)[None, None], "sample_rate": SAMPLE_RATE}
    source = pack().nodes.types.CoefficientTrack(torch.zeros(1, 73))
    with pytest.raises(Interrupted):
        node("StyleHEAT_AudioFlow").run(None, comfy.ManagedModel(nets), source, audio, 25.0, 0, False, True, 0)
    assert time.monotonic() - pressed_at < CANCEL_WITHIN_S
