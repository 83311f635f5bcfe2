"""Audio input, Wav2Lip mel and video-rate framing: librosa reference, any fps, stereo/44.1 kHz, bad and extreme inputs."""

import math
import tracemalloc
from pathlib import Path

import librosa
import numpy as np
import pytest
import soxr
import torch

from styleheat_core.audio.frames import SADTALKER_WINDOW, STYLEHEAT_WINDOW, MelFrames, frame_count, mel_frames, window_starts
from styleheat_core.audio.mel import melspectrogram
from styleheat_core.audio.waveform import Speech, speech_16k

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "media" / "speech_radio34_16k.wav"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    if not SPEECH.is_file():
        pytest.skip(f"real speech not found at {SPEECH}")
    samples, rate = librosa.load(str(SPEECH), sr=None, mono=True)
    assert rate == 16000
    return samples


def _librosa_reference(samples: np.ndarray, variant: str) -> np.ndarray:
    """The Wav2Lip recipe written with librosa calls (legacy: the librosa 0.6 defaults restored)."""
    emphasised = np.append(samples[:1], samples[1:] - 0.97 * samples[:-1]).astype(np.float64)
    if variant == "legacy":
        stft = librosa.stft(emphasised, n_fft=800, hop_length=200, win_length=800, pad_mode="reflect", dtype=np.complex64)
        basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600, dtype=np.float64)
    else:
        stft = librosa.stft(emphasised, n_fft=800, hop_length=200, win_length=800)
        basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    db = 20 * np.log10(np.maximum(1e-5, basis @ np.abs(stft))) - 20
    return np.clip(8 * (db + 100) / 100 - 4, -4, 4)


@pytest.mark.media
@pytest.mark.parametrize("variant", ["legacy", "modern"])
def test_mel_of_real_speech_matches_librosa(speech, variant):
    ours = melspectrogram(speech, variant)
    reference = _librosa_reference(speech, variant)
    assert ours.shape == reference.shape == (80, 1 + len(speech) // 200)
    np.testing.assert_allclose(ours, reference, atol=1e-5, rtol=0)


@pytest.mark.media
def test_stereo_44k_gives_the_features_of_the_16k_mono_clip(speech):
    clip = speech[: 3 * 16000]
    stereo44 = np.stack([soxr.resample(clip, 16000, 44100, "VHQ")] * 2)
    audio = {"waveform": torch.from_numpy(stereo44)[None], "sample_rate": 44100}
    converted = speech_16k(audio)
    assert abs(len(converted.samples) - len(clip)) <= 1
    ours = mel_frames(converted, 25).mel
    reference = mel_frames(Speech(clip), 25).mel
    inner = slice(2, -2)  # the first/last 2 columns see the resampler's edge transient
    diff = np.abs(ours[:, inner] - reference[:, inner])
    assert diff.mean() < 0.01 and np.quantile(diff, 0.99) < 0.06, (diff.mean(), np.quantile(diff, 0.99))


def test_channels_are_averaged_and_integer_pcm_is_scaled():
    left, right = np.full(800, 0.25, np.float32), np.full(800, -0.75, np.float32)
    mixed = speech_16k({"waveform": torch.from_numpy(np.stack([left, right]))[None], "sample_rate": 16000})
    np.testing.assert_array_equal(mixed.samples, np.full(800, -0.25, np.float32))
    pcm = speech_16k(np.array([[16384, -32768]], dtype=np.int16), 16000)
    np.testing.assert_array_equal(pcm.samples, [0.5, -1.0])


@pytest.mark.parametrize("fps", [25, 30, 24, 29.97, 30000 / 1001, 60, 12.5])
@pytest.mark.parametrize("num_samples", [1, 639, 640, 641, 16000, 123457])
def test_frame_count_is_ceil_of_duration_times_fps(fps, num_samples):
    frames = mel_frames(Speech(np.zeros(num_samples, np.float32)), fps)
    expected = math.ceil(round(num_samples / 16000 * fps, 9))
    assert frames.num_frames == frame_count(num_samples, fps) == expected
    assert frames.windows(SADTALKER_WINDOW).shape == (expected, 80, 16)
    assert frames.windows(STYLEHEAT_WINDOW).shape == (expected, 80, 32)


def test_floor_rounding_reproduces_sadtalker():
    assert frame_count(32300, 25, "floor") == 50 and frame_count(32300, 25) == 51


def test_styleheat_windows_follow_the_official_audio_dataset():
    """Official `transform_audio(.., 32)`: start = int(80 * max(0, i - 4) / 25); here edges are padded instead of cut short."""
    mel = np.arange(80 * 120, dtype=np.float32).reshape(80, 120)
    frames = MelFrames(mel, num_frames=37, fps=25.0)
    windows = frames.windows(STYLEHEAT_WINDOW)
    for i in range(37):
        start = int(80.0 * max(0, i - 4) / 25.0)
        if start + 32 <= 120:
            assert torch.equal(windows[i], torch.from_numpy(mel[:, start : start + 32])), i
    assert torch.equal(windows[-1][:, -1], torch.from_numpy(mel[:, -1]))
    assert (window_starts(10, 25, STYLEHEAT_WINDOW) >= 0).all()


def test_window_ranges_match_the_full_set():
    frames = mel_frames(Speech(np.random.default_rng(0).standard_normal(20000).astype(np.float32) * 0.1), 30)
    full = frames.windows()
    assert torch.equal(torch.cat([frames.windows(SADTALKER_WINDOW, 0, 7), frames.windows(SADTALKER_WINDOW, 7)]), full)
    with pytest.raises(ValueError, match="outside"):
        frames.windows(SADTALKER_WINDOW, 0, frames.num_frames + 1)


@pytest.mark.parametrize(
    "audio, message",
    [
        ({"waveform": torch.zeros(1, 2, 0), "sample_rate": 44100}, "0 samples"),
        ({"waveform": torch.zeros(1, 1, 0), "sample_rate": 16000}, "0 samples"),
        ({"waveform": torch.zeros(2, 1, 100), "sample_rate": 16000}, "batch of 2"),
        ({"waveform": torch.zeros(1, 1, 100), "sample_rate": 0}, "positive"),
        ({"waveform": torch.full((1, 1, 100), float("nan")), "sample_rate": 16000}, "NaN"),
        ({"samples": torch.zeros(1, 1, 100)}, "'waveform' and 'sample_rate'"),
        (torch.zeros(1, 1, 100), "sample rate of the audio is unknown"),
    ],
)
def test_bad_audio_gives_a_clear_error(audio, message):
    with pytest.raises(ValueError, match=message):
        speech_16k(audio)


def test_audio_shorter_than_a_frame_needs_ceil_rounding():
    with pytest.raises(ValueError, match="shorter than one video frame"):
        mel_frames(Speech(np.zeros(100, np.float32)), 25, rounding="floor")


def test_silent_audio_gives_the_floor_value():
    frames = mel_frames(Speech(np.zeros(16000, np.float32)), 25)
    assert frames.num_frames == 25 and np.all(frames.mel == -4.0)


@pytest.mark.parametrize("variant", ["legacy", "modern"])
def test_clipped_audio_stays_in_range(variant):
    square = np.sign(np.sin(np.arange(16000) * 2 * np.pi * 220 / 16000)).astype(np.float32) * 3.0
    mel = mel_frames(speech_16k({"waveform": torch.from_numpy(square)[None, None], "sample_rate": 16000}), 25, variant).mel
    assert np.all(np.isfinite(mel)) and mel.min() >= -4 and mel.max() <= 4 and mel.std() > 0


def test_long_audio_is_processed_with_bounded_memory():
    minutes = 10
    rng = np.random.default_rng(1)
    samples = (rng.standard_normal(minutes * 60 * 16000) * 0.1).astype(np.float32)
    tracemalloc.start()
    mel = melspectrogram(samples, "modern")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert mel.shape == (80, 1 + len(samples) // 200)
    whole_stft = 401 * mel.shape[1] * 16  # what one complex128 STFT of the whole clip would take
    assert peak < mel.nbytes + 64 * 2**20 < whole_stft, peak
    windows = mel_frames(Speech(samples[: 16000 * 60]), 25).windows(STYLEHEAT_WINDOW, 1000, 1010)
    assert windows.shape == (10, 80, 32)


def test_long_resampling_is_chunked():
    rate = 22050
    stereo = (np.random.default_rng(2).standard_normal((2, rate * 150)) * 0.1).astype(np.float32)
    waveform = torch.from_numpy(stereo)[None]
    tracemalloc.start()
    speech = speech_16k({"waveform": waveform, "sample_rate": rate})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert abs(len(speech.samples) - 150 * 16000) <= 1
    assert peak < 3 * speech.samples.nbytes, peak  # never a float copy of the whole stereo input
