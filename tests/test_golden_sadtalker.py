"""SadTalker audio -> coefficient golden cases (../shared/golden/sadtalker, or $STYLEHEAT_GOLDEN_DIR/sadtalker).

The cases are read in place (their audio has an unclear licence), never copied into the repository;
the tests skip only when that folder is absent. Tags, manifests and tolerances come from the files.
"""

import json

import numpy as np
import pytest
import torch

from styleheat_core.audio.frames import mel_frames, window_starts
from styleheat_core.audio.sadtalker import PoseOptions, SadTalkerAudioNetworks, audio_coefficients, predict_pose, smooth_pose
from styleheat_core.audio.waveform import speech_16k
from styleheat_core.io.layouts import OFFICIAL_FILES
from styleheat_core.io.loaders import load_sadtalker_audio
from styleheat_core.models.sadtalker_audio2exp import SimpleWrapperV2
from styleheat_core.models.sadtalker_audio2pose import Audio2Pose
from tests.support.golden import GoldenCase, sadtalker_golden_dir
from tests.support.recipe import load_manifest
from tests.support.sadtalker import StoredWindows, sadtalker_state_dict, write_sadtalker_pth, write_sadtalker_safetensors

ROOT = sadtalker_golden_dir()
pytestmark = [pytest.mark.golden, pytest.mark.skipif(not ROOT.is_dir(), reason=f"SadTalker golden cases not found at {ROOT}")]


def _case(name: str) -> GoldenCase:
    return GoldenCase.load(name, ROOT)


def _close(label: str, got: torch.Tensor, want: torch.Tensor, tolerance: dict) -> None:
    atol, rtol = float(tolerance.get("atol", 0.0)), float(tolerance.get("rtol", 0.0))
    assert tuple(got.shape) == tuple(want.shape), f"{label}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    diff = (got.double() - want.double()).abs()
    bad = diff > atol + rtol * want.double().abs()
    assert not bad.any(), f"{label}: {int(bad.sum())} of {diff.numel()} values off, max |diff| {diff.max().item():.3g} (atol {atol:g}, rtol {rtol:g})"


def _networks(case: GoldenCase) -> SadTalkerAudioNetworks:
    """Recipe weights named by the case's `weights` block; tags read from the manifests and checked against the case."""
    modules = {"sadtalker_audio2exp": SimpleWrapperV2(), "sadtalker_audio2pose": Audio2Pose()}
    loaded = {}
    for spec in case.meta["weights"].values():
        if not isinstance(spec, dict):
            continue
        manifest_name = spec["manifest"].rsplit("/", 1)[-1].removesuffix(".json")
        assert load_manifest(ROOT / spec["manifest"])["tag"] == spec["tag"]
        module = modules[manifest_name]
        module.load_state_dict(sadtalker_state_dict(manifest_name, str(ROOT)), strict=True)
        loaded[manifest_name] = module.eval()
    return SadTalkerAudioNetworks(loaded.get("sadtalker_audio2exp", modules["sadtalker_audio2exp"]), loaded.get("sadtalker_audio2pose", modules["sadtalker_audio2pose"]))


@pytest.mark.parametrize("variant", ["legacy", "modern"])
def test_mel_and_windows_of_the_full_clip(variant):
    case = _case("sadtalker_mel")
    tol = case.meta["tolerance"]["mel_float64_impl"]
    speech = speech_16k(case.tensors["in.wav_mono"].numpy(), 16000)
    frames = mel_frames(speech, 25, variant, rounding="floor")
    assert frames.num_frames == case.meta["num_frames"]
    _close(f"mel_{variant}", torch.from_numpy(frames.mel), case.tensors[f"out.mel_{variant}"], tol)
    _close(f"indiv_mels_{variant}", frames.windows(), case.tensors[f"out.indiv_mels_{variant}"], tol)
    assert torch.equal(torch.from_numpy(window_starts(frames.num_frames, 25)), case.tensors["out.window_start"])


@torch.no_grad()
def test_audio2exp():
    case = _case("sadtalker_audio2exp")
    nets = _networks(case)
    t = case.tensors
    mels, frames = t["in.indiv_mels"], t["in.indiv_mels"].shape[1]
    exp = nets.audio2exp(mels, t["in.ref"][:, :, :64].expand(1, frames, 64), t["in.ratio_gt"])
    _close("exp_coeff_pred", exp, t["out.exp_coeff_pred"], case.meta["tolerance"])
    _close("audio_feat", nets.audio2exp.embed(mels), t["out.audio_feat"], case.meta["tolerance"])


@torch.no_grad()
def test_audio2pose_with_stored_noise():
    case = _case("sadtalker_audio2pose")
    nets = _networks(case)
    t = case.tensors
    windows = t["in.indiv_mels"][0, :, 0]
    assert windows.shape[0] == case.meta["num_frames"]
    pose = predict_pose(nets.audio2pose, StoredWindows(windows), t["in.ref"][0, 0, 64:], int(t["in.class"]), t["in.z"].reshape(-1, 64))
    _close("pose_pred", pose[None], t["out.pose_pred"], case.meta["tolerance"])
    _close("pose_motion_pred", pose[None] - t["in.ref"][:, :, 64:], t["out.pose_motion_pred"], {"atol": 1e-4, "rtol": 1e-4})
    encoder = nets.audio2pose.audio_encoder
    _close("audio_emb_chunk0", encoder(t["in.indiv_mels"][:, 1:33]), t["out.audio_emb_chunk0"], case.meta["tolerance"])
    _close("audio_emb_chunk1", encoder(t["in.indiv_mels"][:, 1:][:, -32:]), t["out.audio_emb_chunk1"], case.meta["tolerance"])


@pytest.mark.parametrize("name", ["sadtalker_audio2coeff_e2e", "sadtalker_audio2coeff_short_head"])
def test_audio2coeff_from_the_wav(name):
    case = _case(name)
    nets = _networks(case)
    t = case.tensors
    tol = case.meta["tolerance"]
    speech = speech_16k(t["in.wav_stereo_int16"].T.numpy(), 16000)
    np.testing.assert_array_equal(speech.samples, t["in.wav_mono"].numpy())
    options = PoseOptions(style=int(t["in.class"]))
    assert options.style == case.meta["pose_style"]
    for variant, suffix in (("legacy", ""), ("modern", "_modern")) if "out.mel_legacy" in t else (("modern", ""),):
        frames = mel_frames(speech, 25, variant, rounding="floor")
        assert frames.num_frames == case.meta["num_frames"]
        _close(f"mel_{variant}", torch.from_numpy(frames.mel), t[f"out.mel_{variant}"], {"atol": 1e-6})
        windows = t["out.indiv_mels" + ("_modern" if variant == "modern" and suffix else "")][0, :, 0]
        _close(f"indiv_mels_{variant}", frames.windows(), windows, {"atol": 1e-6})
        coeffs = audio_coefficients(nets, frames, t["in.ref"][0], options, noise=t["in.z"], ratio=t["in.ratio_gt"][0])
        _close(f"coeff_3dmm{suffix}", coeffs, t[f"out.coeff_3dmm{suffix}"], tol)
        if not suffix:
            _close("exp_coeff_pred", coeffs[None, :, :64], t["out.exp_coeff_pred"], tol)
            _close("pose_pred_savgol", coeffs[None, :, 64:], t["out.pose_pred_savgol"], tol)
            raw = predict_pose(nets.audio2pose, frames, t["in.ref"][0, 64:], options.style, t["in.z"].reshape(-1, 64))
            _close("pose_pred_raw", raw[None], t["out.pose_pred_raw"], tol)
            _close("savgol(raw)", smooth_pose(t["out.pose_pred_raw"][0]), t["out.pose_pred_savgol"][0], tol)
    if "in.refpose_coeff" in t:
        with_ref = PoseOptions(style=options.style, reference_pose=t["in.refpose_coeff"])
        coeffs = audio_coefficients(nets, frames, t["in.ref"][0], with_ref, noise=t["in.z"], ratio=t["in.ratio_gt"][0])
        _close("coeff_3dmm_refpose", coeffs, t["out.coeff_3dmm_refpose"], tol)


CHECKPOINT_MANIFESTS = {
    "sadtalker_audio2exp": ("auido2exp_00300-model.pth.json", "audio2exp", SimpleWrapperV2),
    "sadtalker_audio2pose": ("auido2pose_00140-model.pth.json", "audio2pose", Audio2Pose),
}


def _dtype_name(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


@pytest.mark.parametrize("key", sorted(CHECKPOINT_MANIFESTS))
def test_module_keys_match_the_pth_container_manifest(key):
    file_name, _, build = CHECKPOINT_MANIFESTS[key]
    manifest = json.loads((ROOT / "checkpoints" / file_name).read_text())
    assert OFFICIAL_FILES[key].basename == manifest["file"]
    module = build()
    ours = module.state_dict()
    assert list(ours) == list(manifest["model_keys"])
    for name, entry in manifest["model_keys"].items():
        assert list(ours[name].shape) == entry["shape"] and _dtype_name(ours[name]) == entry["dtype"], name
    assert sum(p.numel() for p in module.parameters()) == manifest["counts"]["parameters"]


def test_module_keys_match_the_safetensors_manifest():
    manifest = json.loads((ROOT / "checkpoints" / "SadTalker_V0.0.2_safetensors.audio_keys.json").read_text())
    assert {OFFICIAL_FILES[k].basename for k in ("sadtalker_256", "sadtalker_512")} == set(manifest["files"])
    ours = {f"{prefix}.{k}": v for prefix, build in (("audio2exp", SimpleWrapperV2), ("audio2pose", Audio2Pose)) for k, v in build().state_dict().items()}
    tags = {torch.float32: "F32", torch.int64: "I64"}
    assert set(ours) == set(manifest["keys"])
    for name, entry in manifest["keys"].items():
        assert list(ours[name].shape) == entry["shape"] and tags[ours[name].dtype] == entry["dtype"], name


@torch.no_grad()
def test_recipe_weights_load_from_both_official_containers(tmp_path):
    states = {name: sadtalker_state_dict(f"sadtalker_{name}", str(ROOT)) for name in ("audio2exp", "audio2pose")}
    extra = {"kp_extractor.conv.weight": torch.zeros(2, 2)}  # the real file also holds the face renderer
    combined = load_sadtalker_audio(write_sadtalker_safetensors(tmp_path / OFFICIAL_FILES["sadtalker_256"].basename, states, extra))
    exp_path = write_sadtalker_pth(tmp_path / OFFICIAL_FILES["sadtalker_audio2exp"].basename, states["audio2exp"], 300)
    pose_path = write_sadtalker_pth(tmp_path / OFFICIAL_FILES["sadtalker_audio2pose"].basename, states["audio2pose"], 140)
    separate = load_sadtalker_audio(exp_path, pose_path)
    for nets in (combined, separate):
        for name in states:
            loaded = getattr(nets, name).state_dict()
            assert all(torch.equal(loaded[k], v) for k, v in states[name].items()), name
