"""The node classes in-process (no ComfyUI server), checked against the official golden outputs and real media."""

import numpy as np
import pytest
import torch
from einops import rearrange

from styleheat_core.pipeline.motion import frame_motion
from styleheat_core.preprocess.video_io import iter_video_frames
from tests.support.golden import GoldenCase
from tests.support.model_folder import recipe_model_folder
from tests.support.pack import node, pack, results
from tests.support.preprocess import MEDIA_DIR, PORTRAIT, TALKING_VIDEO, needs_media, rgb

FRAMES = 3


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def models(monkeypatch_module):
    monkeypatch_module.setenv("STYLEHEAT_MODELS_DIR", str(recipe_model_folder()))
    return {
        "stylegan": node("StyleHEAT_LoadStyleGAN").load("StyleGAN_e4e.pth", "fp32")[0],
        "encoder": node("StyleHEAT_LoadEncoder").load("Encoder_e4e.pth", "hfgi.pth", "fp32")[0],
        "motion": node("StyleHEAT_LoadMotionModels").load("StyleHEAT_visual.pt", "fp32")[0],
        "deep3d": node("StyleHEAT_LoadDeep3D").load("Deep3D/epoch_20.pth", "BFM/similarity_Lm3D_all.mat", "fp32")[0],
    }


def _image(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array).float()[None] / 255.0


def _as_image(network: torch.Tensor) -> torch.Tensor:
    """A stored network-range reduction (B,3,h,w) as the IMAGE values a node outputs."""
    return rearrange((network.clamp(-1, 1) + 1) / 2, "b c h w -> b h w c")


def test_every_pipeline_node_is_registered_with_its_display_name():
    names = pack().NODE_DISPLAY_NAME_MAPPINGS
    for card in ("Invert", "3DMM Extract", "Video Flow", "Audio Flow", "Warp Features", "Calibrate", "StyleGAN Decode", "Style Direction"):
        assert any(name == card for name in names.values()), card
    assert all(node_id.startswith("StyleHEAT_") for node_id in names)


@pytest.mark.slow
@pytest.mark.golden
def test_node_graph_reproduces_the_official_end_to_end_frames(models):
    """Load -> Invert -> Video Flow -> Warp Features -> Calibrate -> Decode on the golden source and coefficients."""
    case = GoldenCase.load("end_to_end")
    portrait = case.input("in.source_u8").float()[None] / 255.0
    latent, reconstruction = results(node("StyleHEAT_Invert").run(models["stylegan"], models["encoder"], portrait, 0))
    torch.testing.assert_close(reconstruction, _as_image(case.tensors["out.ix"]), atol=case.meta["outputs"]["out.ix"]["stored_as"]["out.ix"]["atol"], rtol=0)

    track = pack().nodes.types.CoefficientTrack(case.input("in.coeff_sequence"))
    (flow,) = node("StyleHEAT_VideoFlow").run(models["motion"], track)
    (features,) = node("StyleHEAT_WarpFeatures").run(latent, flow)
    (calibrated,) = node("StyleHEAT_Calibrate").run(features, models["motion"])
    frames, audio, fps = node("StyleHEAT_StyleGANDecode").run(models["stylegan"], calibrated, "1024", 4, 25.0)
    assert frames.shape == (20, 1024, 1024, 3) and audio is None and fps == 25.0

    driven = frames[case.notes["window_frames"]]
    stored = case.meta["outputs"]["out.fake_image"]["stored_as"]
    for index, (y0, x0) in enumerate(case.meta["crop_positions_yx"]):
        name = f"out.fake_image.crop{index}"
        expected = _as_image(case.tensors[name])
        torch.testing.assert_close(driven[:, y0 : y0 + 64, x0 : x0 + 64], expected, atol=stored[name]["atol"], rtol=0, msg=name)


@needs_media
def test_video_driven_graph_on_real_media_pastes_back_into_the_portrait(models):
    portrait = _image(rgb(PORTRAIT))
    aligned, crop = results(node("StyleHEAT_FaceAlign").run(portrait, "1024", 0))
    assert aligned.shape == (1, 1024, 1024, 3)
    latent, reconstruction = results(node("StyleHEAT_Invert").run(models["stylegan"], models["encoder"], aligned, 0))
    assert reconstruction.shape == (1, 256, 256, 3)
    driving = torch.from_numpy(np.stack([f for _, f in zip(range(FRAMES), iter_video_frames(TALKING_VIDEO))])).float() / 255.0
    (coeffs,) = node("StyleHEAT_3DMMExtract").run(models["deep3d"], driving, "fixed", False, False, 0.0, 0, "error")
    assert coeffs.vectors.shape == (FRAMES, 73) and torch.isfinite(coeffs.vectors).all()
    (flow,) = node("StyleHEAT_VideoFlow").run(models["motion"], coeffs)
    (features,) = node("StyleHEAT_WarpFeatures").run(latent, flow)
    (calibrated,) = node("StyleHEAT_Calibrate").run(features, models["motion"])
    frames, _, _ = node("StyleHEAT_StyleGANDecode").run(models["stylegan"], calibrated, "256", 2, 30.0)
    assert frames.shape == (FRAMES, 256, 256, 3)
    assert not torch.equal(frames[0], frames[-1])  # the driving motion moves the face

    images, mask = node("StyleHEAT_PasteBack").run(portrait, frames, crop, "face", 0.06)
    assert images.shape == (FRAMES, *portrait.shape[1:]) and mask.shape == images.shape[:3]
    outside = mask[0] == 0
    assert torch.equal(images[0][outside], portrait[0][outside])
    assert 0.05 < mask.mean() < 0.9


@needs_media
def test_audio_lip_flow_moves_the_lower_face_for_every_audio_frame(models):
    import soundfile

    portrait = _image(rgb(PORTRAIT))
    aligned, _ = results(node("StyleHEAT_FaceAlign").run(portrait, "1024", 0))
    latent, _ = results(node("StyleHEAT_Invert").run(models["stylegan"], models["encoder"], aligned, 0))
    (source,) = node("StyleHEAT_3DMMExtract").run(models["deep3d"], portrait, "fixed", False, False, 0.0, 0, "error")
    (still,) = node("StyleHEAT_3DMMEdit").run(source, 0.0, 0.0, 0.0, "keep", 1.0, False, 2)
    (head,) = node("StyleHEAT_VideoFlow").run(models["motion"], still)
    speech, rate = soundfile.read(MEDIA_DIR / "speech_radio34_16k.wav", dtype="float32")
    audio = {"waveform": torch.from_numpy(speech[16000 : 16000 + rate * 2 // 25].T.copy())[None], "sample_rate": rate}  # 2 frames at 25 fps
    (warper,) = node("StyleHEAT_LoadAudioWarper").load("audio_warper.pt")
    (lips,) = node("StyleHEAT_AudioLipFlow").run(models["stylegan"], warper, head, audio, 25.0)
    assert lips.num_frames == 2
    from styleheat_core.models.flow import coordinate_grid

    motion = frame_motion(lips, latent.inversion, [0, 1])
    assert len(motion.grids) == 2
    identity = coordinate_grid(2, 64, 64, motion.grids[-1])
    assert torch.equal(motion.grids[-1][:, :32], identity[:, :32])
    assert (motion.grids[-1][:, 32:] - identity[:, 32:]).abs().max() > 1e-3
    frames = {}
    for name, flow in (("head", head), ("lips", lips)):
        (features,) = node("StyleHEAT_WarpFeatures").run(latent, flow)
        frames[name] = node("StyleHEAT_StyleGANDecode").run(models["stylegan"], features, "256", 2, 25.0)[0]
    change = (frames["lips"] - frames["head"]).abs().mean(dim=(0, 2, 3))
    # Each extra grid also shrinks the frame slightly at its borders (the official align_corners quirk),
    # so compare the mouth band with the upper-face interior, away from the borders.
    assert change[144:224].mean() > 1e-3
    assert change[144:224].mean() > 2 * change[32:96].mean()
