"""The pack inside a real ComfyUI 0.3.75 server (scripts/setup_comfyui.sh): node listing, every example
workflow on recipe-weight checkpoints, clear errors, and cancel during Decode."""

import json
import time

import av
import numpy as np
import pytest
import soundfile
from PIL import Image

from scripts.build_workflows import GRAPHS, api_path, ui_path
from scripts.comfyui_server import COMFYUI_DIR, ComfyUIError, ComfyUIServer, error_message
from scripts.workflow_format import to_api
from tests.support.clips import cut_clip
from tests.support.model_folder import recipe_model_folder
from tests.support.pack import ROOT
from tests.support.preprocess import MEDIA_DIR, PORTRAIT, TALKING_VIDEO
from tests.support.snapshot import changes, tree_state

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
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        has_audio = bool(container.streams.audio)
    assert len(frames) == FRAMES
    assert frames[0].shape[:2] == (448, 320)  # pasted back into the half-size portrait
    assert np.std(frames[0]) > 5
    assert has_audio == (name != "intuitive_editing")
    decode_id = next(k for k, v in _api(name).items() if v["class_type"] == "StyleHEAT_StyleGANDecode")
    progress = [e for e in server.events(prompt_id, "progress") if e["node"] == decode_id]
    assert progress and progress[-1]["value"] == progress[-1]["max"] == FRAMES


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


def test_interrupt_during_decode_stops_and_next_prompt_succeeds(server):
    graph = _api("video_reenactment")
    graph["8"]["inputs"]["file"] = "long.mp4"
    graph["14"]["inputs"]["chunk_size"] = 1
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
    assert server.run(_tiny(_api("intuitive_editing")))["status"]["status_str"] == "success"


def test_a_workflow_writes_only_into_the_servers_own_folders(server, home):
    repository, install = tree_state(ROOT), tree_state(COMFYUI_DIR.resolve())
    assert server.run(_tiny(_api("attribute_editing")))["status"]["status_str"] == "success"
    assert changes(repository, tree_state(ROOT)) == []
    assert changes(install, tree_state(COMFYUI_DIR.resolve())) == []
    assert sorted(home.rglob("*")) == []
    assert list(server.base.rglob("styleheat_cache/*.safetensors"))  # its 3DMM cache went into the server's user folder
