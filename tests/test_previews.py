"""Previews: frame choice and clamping, composed pictures, Preview Frames against Decode, and the nodes' ui images."""

import numpy as np
import pytest
import torch
from PIL import Image

from styleheat_core.pipeline.preview import FrameChoice, choose_frames, side_by_side, strip, warning_banner
from tests.support.golden import GoldenCase
from tests.support.model_folder import recipe_model_folder
from tests.support.pack import node, pack, results
from tests.support.preprocess import PORTRAIT, needs_media, rgb

PREVIEW = "comfyui_styleheat_pack.nodes.preview"
# A frame previewed alone against the same frame decoded in a chunk: fp32 rounding of batch-dependent kernels
# (up to 1.1e-5 measured on an AVX2 CPU).
SAME_FRAME_ATOL = 3e-5


def test_a_strip_spreads_frames_from_first_to_last():
    assert choose_frames(40, "strip", count=4) == FrameChoice((0, 13, 26, 39))
    assert choose_frames(3, "strip", count=4) == FrameChoice((0, 1, 2))
    assert choose_frames(1, "strip", count=8) == FrameChoice((0,))
    assert choose_frames(25, "frame", frame=7) == FrameChoice((7,))


def test_a_frame_outside_the_clip_is_clamped_with_a_warning():
    choice = choose_frames(3, "frame", frame=50)
    assert choice.frames == (2,)
    assert choice.warning == "frame 50 is outside the 3-frame clip (0-2); showing frame 2"


@pytest.mark.parametrize("args, message", [((0, "strip"), "no frames"), ((5, "strip", 0, 1), "2 to 8 frames"), ((5, "loop"), "unknown preview mode")])
def test_bad_preview_requests_say_what_to_change(args, message):
    with pytest.raises(ValueError, match=message):
        choose_frames(*args)


def test_pictures_are_composed_at_one_height():
    left = torch.zeros(1, 512, 512, 3)
    right = torch.ones(1, 256, 128, 3)
    pair = side_by_side([left, right], height=256, gap=4)
    assert pair.shape == (1, 256, 256 + 4 + 128, 3)
    assert float(pair[0, :, :256].max()) == 0.0 and float(pair[0, :, 260:].min()) == 1.0
    frames = torch.full((3, 64, 64, 3), 0.5)
    labelled = strip(frames, ["frame 0", "frame 5", "frame 9"], height=128)
    assert labelled.shape == (1, 128, 3 * 128 + 2 * 4, 3)
    assert float(labelled[0, 2:10, 2:30].min()) < 0.5  # the label's dark box
    assert float(labelled[0, 100:, 4:120].sub(0.5).abs().max()) <= 1 / 255  # the picture itself is untouched (8-bit)


def test_a_warning_banner_is_yellow_along_the_bottom():
    image = torch.zeros(1, 256, 512, 3)
    warned = warning_banner(image, "frame 50 is outside the 3-frame clip (0-2); showing frame 2")
    bottom = warned[0, -4:, :, :].mean(dim=(0, 1))
    assert bottom.tolist() == pytest.approx([250 / 255, 204 / 255, 21 / 255], abs=0.01)
    assert float(warned[0, :200].max()) == 0.0


@pytest.fixture(scope="module")
def models():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STYLEHEAT_MODELS_DIR", str(recipe_model_folder()))
        yield {
            "stylegan": node("StyleHEAT_LoadStyleGAN").load("StyleGAN_e4e.pth", "fp32")[0],
            "encoder": node("StyleHEAT_LoadEncoder").load("Encoder_e4e.pth", "hfgi.pth", "fp32")[0],
            "motion": node("StyleHEAT_LoadMotionModels").load("StyleHEAT_visual.pt", "fp32")[0],
        }


@pytest.fixture
def temp_folder(tmp_path, monkeypatch):
    """Stand in for ComfyUI's temp folder, so the nodes write their previews."""
    monkeypatch.setattr(f"{PREVIEW}.temp_directory", lambda: tmp_path)
    return tmp_path


@pytest.mark.slow
def test_preview_frames_renders_the_frames_decode_renders_and_warns_on_the_picture(models, temp_folder):
    case = GoldenCase.load("end_to_end")
    portrait = case.input("in.source_u8").float()[None] / 255.0
    output = node("StyleHEAT_Invert").run(models["stylegan"], models["encoder"], portrait, 0)
    (shown,) = output["ui"]["images"]
    assert shown["type"] == "temp" and Image.open(temp_folder / shown["filename"]).size == (256 + 4 + 256, 256)
    latent, _ = results(output)
    types = pack().nodes.types
    track = types.CoefficientTrack(case.input("in.coeff_sequence")[:3])
    (flow,) = node("StyleHEAT_VideoFlow").run(models["motion"], track)
    (features,) = node("StyleHEAT_Calibrate").run(node("StyleHEAT_WarpFeatures").run(latent, flow)[0], models["motion"])
    video, _, _ = node("StyleHEAT_StyleGANDecode").run(models["stylegan"], features, "256", 3, 25.0)

    preview = node("StyleHEAT_PreviewFrames").run(models["stylegan"], latent, flow, "strip", 0, 2, "256", motion_models=models["motion"])
    (frames,) = results(preview)
    torch.testing.assert_close(frames, video[[0, 2]], atol=SAME_FRAME_ATOL, rtol=0)
    (picture,) = preview["ui"]["images"]
    assert Image.open(temp_folder / picture["filename"]).size == (2 * 256 + 4, 256)

    clamped = node("StyleHEAT_PreviewFrames").run(models["stylegan"], latent, flow, "frame", 99, 4, "256", motion_models=models["motion"])
    torch.testing.assert_close(results(clamped)[0], video[[2]], atol=SAME_FRAME_ATOL, rtol=0)
    warned = np.asarray(Image.open(temp_folder / clamped["ui"]["images"][0]["filename"]))
    assert warned[-3:, :, :].reshape(-1, 3).mean(axis=0) == pytest.approx([250, 204, 21], abs=3)
    uncalibrated = results(node("StyleHEAT_PreviewFrames").run(models["stylegan"], latent, flow, "frame", 2, 4, "256"))[0]
    assert float((uncalibrated - video[[2]]).abs().max()) > 1e-3  # calibration is optional and changes the frame


@needs_media
def test_face_align_and_video_crop_show_their_crops(temp_folder):
    portrait = torch.from_numpy(rgb(PORTRAIT)).float()[None] / 255.0
    output = node("StyleHEAT_FaceAlign").run(portrait, "512", 0)
    (shown,) = output["ui"]["images"]
    crop = np.asarray(Image.open(temp_folder / shown["filename"]))
    aligned = results(output)[0]
    expected = torch.nn.functional.interpolate(aligned.permute(0, 3, 1, 2), size=(256, 256), mode="area").permute(0, 2, 3, 1)[0]
    assert np.abs(crop.astype(float) - expected.numpy() * 255).max() <= 1.0
    frames = portrait.expand(5, -1, -1, -1)
    cropped = node("StyleHEAT_VideoCrop").run(frames, "fixed", "256", 2.0, 0, "error")
    assert results(cropped)[0].shape == (5, 256, 256, 3)
    (strip_shown,) = cropped["ui"]["images"]
    assert Image.open(temp_folder / strip_shown["filename"]).size == (4 * 256 + 3 * 4, 256)  # frames 0, 1, 3, 4 of 5


def test_outside_comfyui_nodes_show_nothing_but_still_return_their_outputs():
    preview = pack().nodes.preview
    assert preview.temp_directory() is None
    assert preview.show(torch.zeros(2, 32, 32, 3)) == {"images": []}
