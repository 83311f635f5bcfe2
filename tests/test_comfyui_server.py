"""The pack inside a real ComfyUI 0.3.75 server (scripts/setup_comfyui.sh): node listing, every example
workflow on recipe-weight checkpoints, clear errors, and cancel during Decode."""

import json
import math
import time
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from PIL import Image

from scripts.build_workflows import GRAPHS, api_path, ui_path
from scripts.comfyui_server import COMFYUI_DIR, ComfyUIError, ComfyUIServer, error_message
from scripts.run_main_job import node_id_of, rendered_video
from scripts.workflow_format import to_api
from styleheat_core.io.sound import ArraySound
from styleheat_core.io.video_writer import VideoFormat, VideoWriter
from styleheat_core.preprocess.video_io import read_soundtrack
from tests.support.clips import cut_clip
from tests.support.model_folder import recipe_model_folder
from tests.support.pack import ROOT
from tests.support.preprocess import MEDIA_DIR, PORTRAIT, TALKING_VIDEO
from tests.support.snapshot import changes, tree_state
from tests.support.tiny_render import decoded

SPEECH = MEDIA_DIR / "speech_radio34_16k.wav"

pytestmark = [pytest.mark.media, pytest.mark.skipif(not MEDIA_DIR.is_dir(), reason=f"real media folder {MEDIA_DIR} is absent")]
NAMES = sorted(GRAPHS)
FRAMES = 3
CARD_NODES = {
    "StyleHEAT_Invert": "Invert",
    "StyleHEAT_3DMMExtract": "3DMM Extract",
    "StyleHEAT_VideoFlow": "Video Flow",
    "StyleHEAT_WarpFeatures": "Warp Features",
    "StyleHEAT_Calibrate": "Calibrate",
    "StyleHEAT_StyleGANDecode": "StyleGAN Decode",
    "StyleHEAT_StyleDirection": "Style Direction",
    "StyleHEAT_RenderVideo": "Render Video",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The server's $HOME: an empty temporary folder, so that anything written to ~ shows."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def server(tmp_path_factory, home):
    base = tmp_path_factory.mktemp("comfyui")
    server = ComfyUIServer(base, recipe_model_folder(), env={"HOME": str(home)}).start()
    portrait = Image.open(PORTRAIT).convert("RGB")
    portrait.resize((portrait.width // 2, portrait.height // 2)).save(server.input_dir / "portrait.png")
    Image.new("RGB", (256, 256), (128, 128, 128)).save(server.input_dir / "blank.png")
    cut_clip(TALKING_VIDEO, server.input_dir / "driving.mp4", FRAMES)
    cut_clip(TALKING_VIDEO, server.input_dir / "long.mp4", 40, size=256)
    speech, rate = soundfile.read(SPEECH, dtype="float32")
    soundfile.write(server.input_dir / "speech.wav", speech[: rate // 10], rate)  # 0.1 s = 3 frames at 25 fps
    yield server
    server.stop()
    assert server.process.poll() is not None


@pytest.fixture(scope="module")
def object_info(server):
    return server.get("/object_info")


def _api(name: str) -> dict:
    return json.loads(api_path(name).read_text())


def _render_id(name: str) -> str:
    return node_id_of(_api(name), "StyleHEAT_RenderVideo")


def _tiny(graph: dict) -> dict:
    """Test-size inputs: the edit workflow animates 3 frames instead of 25."""
    for node in graph.values():
        if node["class_type"] == "StyleHEAT_3DMMEdit":
            node["inputs"]["frames"] = FRAMES
    return graph


def test_object_info_lists_every_node_with_socket_types(object_info):
    ours = {k: v for k, v in object_info.items() if k.startswith("StyleHEAT_")}
    assert len(ours) >= 19
    for node_id, name in CARD_NODES.items():
        assert ours[node_id]["display_name"] == name
    decode = ours["StyleHEAT_StyleGANDecode"]
    assert decode["input"]["required"]["features"][0] == "STYLEHEAT_FEATURES"
    assert decode["output"] == ["IMAGE", "AUDIO", "FLOAT"]
    render = ours["StyleHEAT_RenderVideo"]
    assert render["output"] == ["VIDEO", "STRING"] and render["output_node"] is True
    assert render["input"]["optional"]["sound_video"][0] == "VIDEO" and render["input"]["optional"]["audio"][0] == "AUDIO"
    for node_id, video_input in (("StyleHEAT_3DMMExtract", "video"), ("StyleHEAT_VideoCrop", "video"), ("StyleHEAT_PasteBack", "original_video")):
        assert ours[node_id]["input"]["optional"][video_input][0] == "VIDEO"
    assert ours["StyleHEAT_Invert"]["output"] == ["STYLEHEAT_LATENT", "IMAGE"]
    assert ours["StyleHEAT_VideoFlow"]["output"] == ["STYLEHEAT_FLOW"]
    assert all(info["category"].startswith("StyleHEAT") for info in ours.values())


@pytest.mark.parametrize("name", NAMES)
def test_ui_workflow_and_api_twin_agree(name, object_info):
    ui = json.loads(ui_path(name).read_text())
    assert to_api(ui, object_info) == _api(name)


@pytest.mark.parametrize("name", NAMES)
def test_workflow_runs_and_writes_a_video(server, name):
    before = set(server.output_dir.rglob("*.mp4"))
    prompt_id = server.queue(_tiny(_api(name)))
    entry = server.wait(prompt_id)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    (video,) = set(server.output_dir.rglob("*.mp4")) - before
    assert video == rendered_video(server, entry, _api(name))
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        has_audio = bool(container.streams.audio)
    assert len(frames) == FRAMES
    assert frames[0].shape[:2] == (448, 320)  # pasted back into the half-size portrait
    assert np.std(frames[0]) > 5
    assert has_audio == (name != "intuitive_editing")
    render_id = _render_id(name)
    progress = [e for e in server.events(prompt_id, "progress") if e["node"] == render_id]
    assert progress and progress[-1]["value"] == progress[-1]["max"] == FRAMES
    assert not any(node["class_type"] == "GetVideoComponents" for node in _api(name).values())  # the driving video is never one IMAGE


def test_invalid_widget_value_is_refused_with_the_input_named(server):
    graph = _api("video_reenactment")
    graph["14"]["inputs"]["chunk_size"] = 0
    with pytest.raises(ComfyUIError) as error:
        server.queue(graph)
    assert "value_smaller_than_min" in str(error.value) and "chunk_size" in str(error.value)


def test_portrait_without_face_fails_with_a_message_that_says_so(server):
    graph = _api("video_reenactment")
    graph["1"]["inputs"]["image"] = "blank.png"
    entry = server.wait(server.queue(graph))
    assert entry["status"]["status_str"] == "error"
    message = error_message(entry)
    assert "StyleHEAT_FaceAlign" in message and "no face" in message.lower()


def test_interrupt_during_render_stops_without_a_file_and_next_prompt_succeeds(server):
    graph = _api("video_reenactment")
    graph["8"]["inputs"]["file"] = "long.mp4"
    graph["14"]["inputs"]["chunk_size"] = 1
    graph["14"]["inputs"]["filename_prefix"] = "styleheat/cancelled"
    prompt_id = server.queue(graph)
    deadline = time.monotonic() + 600
    while not [e for e in server.events(prompt_id, "progress") if e["node"] == "14"]:
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.2)
    server.post("/interrupt", {})
    entry = server.wait(prompt_id)
    assert entry["status"]["status_str"] == "error"
    interrupted = server.events(prompt_id, "execution_interrupted")
    assert interrupted and interrupted[0]["node_id"] == "14"
    done = [e for e in server.events(prompt_id, "progress") if e["node"] == "14"]
    assert done[-1]["value"] < done[-1]["max"] == 40
    assert not list(server.output_dir.rglob("cancelled*"))  # neither the final name nor the partial file
    assert server.run(_tiny(_api("intuitive_editing")))["status"]["status_str"] == "success"


def test_a_workflow_writes_only_into_the_servers_own_folders(server, home):
    repository, install = tree_state(ROOT), tree_state(COMFYUI_DIR.resolve())
    assert server.run(_tiny(_api("attribute_editing")))["status"]["status_str"] == "success"
    assert changes(repository, tree_state(ROOT)) == []
    assert changes(install, tree_state(COMFYUI_DIR.resolve())) == []
    assert sorted(home.rglob("*")) == []
    assert list(server.base.rglob("styleheat_cache/*.safetensors"))  # its 3DMM cache went into the server's user folder


def _retimed(source: Path, target: Path, fps: int) -> Path:
    """The clip's frames played at `fps`, with its sound cut to the new length."""
    with av.open(str(source)) as container:
        images = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    samples, rate = read_soundtrack(source)
    seconds = len(images) / fps
    sound = np.pad(samples, ((0, 0), (0, max(0, round(seconds * rate) - samples.shape[1]))))[:, : round(seconds * rate)]
    with VideoWriter(target, fps, VideoFormat("h264"), ArraySound(sound, rate)) as writer:
        writer.write(np.stack(images))
    return target


@pytest.mark.slow
@pytest.mark.parametrize("fps", [25, 30])
@pytest.mark.parametrize("name", ["video_reenactment", "audio_driven"])
def test_sound_and_picture_share_one_frame_clock(server, name, fps):
    graph = _tiny(_api(name))
    if name == "video_reenactment":
        graph["8"]["inputs"]["file"] = _retimed(server.input_dir / "driving.mp4", server.input_dir / f"driving{fps}.mp4", fps).name
        expected_frames = FRAMES
    else:
        next(node for node in graph.values() if node["class_type"] == "StyleHEAT_AudioFlow")["inputs"]["fps"] = float(fps)
        expected_frames = math.ceil(0.1 * fps)  # speech.wav lasts 0.1 s
    entry = server.run(graph)
    frames, duration = decoded(rendered_video(server, entry, graph))
    assert len(frames) == expected_frames
    assert abs(duration - expected_frames / fps) <= 1 / fps
    with av.open(str(rendered_video(server, entry, graph))) as container:
        assert container.streams.video[0].average_rate == fps


def test_a_driving_file_without_pictures_says_what_to_connect(server):
    with av.open(str(server.input_dir / "sound_only.mp4"), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 3200), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    graph = _api("video_reenactment")
    graph["8"]["inputs"]["file"] = "sound_only.mp4"
    entry = server.wait(server.queue(graph))
    assert entry["status"]["status_str"] == "error"
    message = error_message(entry)
    assert "StyleHEAT_3DMMExtract" in message and "has no video stream" in message and "video file with picture frames" in message
