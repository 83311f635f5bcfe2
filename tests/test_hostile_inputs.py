"""The hostile-input suite: broken images, videos, audio and checkpoints, paths that leave the pack's folders, bad
widget values, Cancel during Decode and 10 prompts queued back to back, through one real ComfyUI server.

Each case of the table is queued as a prompt and must end as expected: refused when ComfyUI validates
the prompt, failed when a node runs (the message naming the input), or succeeded. After every case
the server is alive, a valid prompt runs, nothing was created or changed outside the server's output
and temp folders (and the pack's 3DMM cache in its user folder), in the model folder or in $HOME, and
the marker file that a crafted pickle would create does not exist.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import soundfile

from scripts.comfyui_server import COMFYUI_DIR, ComfyUIError, ComfyUIServer, error_message
from tests.support.clips import cut_clip
from tests.support.hostile_inputs import HOSTILE, hostile_model_folder, write_audio, write_images, write_videos
from tests.support.model_folder import recipe_model_folder
from tests.support.pack import ROOT
from tests.support.preprocess import MEDIA_DIR, PORTRAIT, TALKING_VIDEO, rgb
from tests.support.snapshot import changes, tree_state

pytestmark = [pytest.mark.media, pytest.mark.slow, pytest.mark.skipif(not MEDIA_DIR.is_dir(), reason=f"real media folder {MEDIA_DIR} is absent")]

SPEECH = MEDIA_DIR / "speech_radio34_16k.wav"
PROMPT_TIMEOUT = 900.0
CANCEL_FRAMES = 6
QUEUED = 10
RSS_TOLERANCE = 0.05
# Where a run may write: ComfyUI's output and temp folders, the pack's 3DMM cache, the server's own log.
WRITABLE = ("output", "temp", "user/styleheat_cache", "server.log")

PROBE = '''
"""Test-only output node: describes whatever reaches it (type, shape, frames), so a graph can end anywhere."""


def describe(value):
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} {'x'.join(map(str, shape))}"
    frames = getattr(value, "num_frames", None)
    return f"{type(value).__name__}" + (f" {frames} frames" if frames is not None else "")


class AnyType(str):
    """Matches every socket type (ComfyUI compares types with !=)."""

    def __ne__(self, other):
        return False


class Probe:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": (AnyType("*"), {})}}

    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = "tests"

    def run(self, value):
        return {"ui": {"text": [describe(value)]}}


NODE_CLASS_MAPPINGS = {"StyleHEATTests_Probe": Probe}
'''


# ---------------------------------------------------------------- graphs


def _node(class_type: str, **inputs) -> dict:
    return {"class_type": class_type, "inputs": inputs}


def base_graph() -> dict:
    """Loaders, the portrait's alignment, inversion and coefficients: in every prompt (same ids and inputs), so
    ComfyUI keeps their results cached between cases; each case adds its own branch ending in a probe."""
    return {
        "b_portrait": _node("LoadImage", image="portrait.png"),
        "b_align": _node("StyleHEAT_FaceAlign", image=["b_portrait", 0], size="256", face_index=0),
        "b_stylegan": _node("StyleHEAT_LoadStyleGAN", stylegan="StyleGAN_e4e.pth", precision="auto"),
        "b_encoder": _node("StyleHEAT_LoadEncoder", e4e="Encoder_e4e.pth", hfgi="hfgi.pth", precision="auto"),
        "b_motion": _node("StyleHEAT_LoadMotionModels", styleheat="StyleHEAT_visual.pt", precision="auto"),
        "b_deep3d": _node("StyleHEAT_LoadDeep3D", deep3d="Deep3D/epoch_20.pth", bfm_landmarks="BFM/similarity_Lm3D_all.mat", precision="auto"),
        "b_audio_models": _node("StyleHEAT_LoadAudioModels", sadtalker="sadtalker/SadTalker_V0.0.2_256.safetensors", audio2pose_pth=""),
        "b_invert": _node("StyleHEAT_Invert", stylegan=["b_stylegan", 0], encoder=["b_encoder", 0], portrait=["b_align", 0], refine_steps=0),
        "b_source": _node(
            "StyleHEAT_3DMMExtract", deep3d=["b_deep3d", 0], frames=["b_portrait", 0], crop_mode="fixed", expression_only=False,
            relative=False, smoothing=0.0, face_index=0, on_missing="error",
        ),
    }


def _probed(branch: dict, output: list) -> dict:
    return {**base_graph(), **branch, "probe": _node("StyleHEATTests_Probe", value=output)}


def image(name: str) -> dict:
    return _probed({"c_image": _node("LoadImage", image=name), "c_align": _node("StyleHEAT_FaceAlign", image=["c_image", 0], size="256", face_index=0)}, ["c_align", 0])


def _video_branch(name: str) -> dict:
    return {
        "c_video": _node("LoadVideo", file=name),
        "c_coeffs": _node(
            "StyleHEAT_3DMMExtract", deep3d=["b_deep3d", 0], video=["c_video", 0], crop_mode="fixed", expression_only=False,
            relative=False, smoothing=0.0, face_index=0, on_missing="error",
        ),
    }


def video(name: str) -> dict:
    return _probed(_video_branch(name), ["c_coeffs", 0])


def audio(name: str = "speech.wav", **widgets) -> dict:
    flow = {"fps": 25.0, "pose_style": 0, "still": False, "blink": True, "seed": 0, **widgets}
    branch = {
        "c_audio": _node("StyleHEAT_LoadAudio", file=name),
        "c_flow": _node("StyleHEAT_AudioFlow", motion_models=["b_motion", 0], audio_models=["b_audio_models", 0], source=["b_source", 0], audio=["c_audio", 0], **flow),
    }
    return _probed(branch, ["c_flow", 1])


def loader(class_type: str, **inputs) -> dict:
    return _probed({"c_loader": _node(class_type, **inputs)}, ["c_loader", 0])


def direction(**widgets) -> dict:
    inputs = {"edit": "age (InterFaceGAN)", "strength": 1.0, "ramp": False, "direction_file": "", "schedule": "by ramp toggle", "keyframes": "0:0, 24:5", **widgets}
    return _probed({"c_edit": _node("StyleHEAT_StyleDirection", latent=["b_invert", 0], **inputs)}, ["c_edit", 0])


def edit3dmm(**widgets) -> dict:
    inputs = {"pitch": 0.0, "yaw": 0.0, "roll": 0.0, "expression": "keep", "expression_strength": 1.0, "ramp": False, "frames": 2, **widgets}
    return _probed({"c_edit": _node("StyleHEAT_3DMMEdit", coefficients=["b_source", 0], **inputs)}, ["c_edit", 0])


def extract(**widgets) -> dict:
    inputs = {**base_graph()["b_source"]["inputs"], **widgets}
    return _probed({"c_extract": _node("StyleHEAT_3DMMExtract", **inputs)}, ["c_extract", 0])


def decode(video_name: str, chunk_size: int) -> dict:
    """A driving video rendered at 256² (the 1024 generator, downscaled)."""
    branch = {
        **_video_branch(video_name),
        "c_flow": _node("StyleHEAT_VideoFlow", motion_models=["b_motion", 0], coefficients=["c_coeffs", 0]),
        "c_features": _node("StyleHEAT_WarpFeatures", latent=["b_invert", 0], flow=["c_flow", 0]),
        "c_decode": _node("StyleHEAT_StyleGANDecode", stylegan=["b_stylegan", 0], features=["c_features", 0], size="256", chunk_size=chunk_size, fps=25.0),
    }
    return _probed(branch, ["c_decode", 0])


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    """A prompt and how it must end: 'refused' (at validation), 'error' (a node failed) or 'success';
    `says`: patterns that the refusal, the error or the probe's description must contain."""

    name: str
    graph: Callable[[], dict]
    outcome: str
    says: tuple[str, ...] = field(default_factory=tuple)


def _case(name, graph, outcome, *says) -> Case:
    return Case(name, graph, outcome, says)


UNSAFE = "contains Python objects that could run code; it was not loaded"
OUTSIDE = r"is not a file name inside the StyleHEAT model folders"
NOT_FINITE = "is not a finite number"

CASES = [
    # images: LoadImage -> Face Align
    _case("image: text file named .png", lambda: image("not_an_image.png"), "error", "LoadImage", "cannot identify image file", "not_an_image.png"),
    _case("image: 1x1 pixel", lambda: image("one_pixel.png"), "error", "StyleHEAT_FaceAlign", "portrait is 1x1 pixels; faces need at least 32 px"),
    _case("image: RGBA portrait", lambda: image("rgba.png"), "success", "Tensor 1x256x256x3"),
    _case("image: 16-bit portrait", lambda: image("sixteen_bit.png"), "success", "Tensor 1x256x256x3"),
    _case("image: 100000x100000 header (decompression bomb)", lambda: image("huge.png"), "error", "LoadImage", "(?i)decompression bomb"),
    _case("image: no face", lambda: image("blank.png"), "error", "StyleHEAT_FaceAlign", "(?i)no face"),
    _case("image: truncated PNG (ComfyUI loads what is there)", lambda: image("truncated.png"), "error", "StyleHEAT_FaceAlign", "no face found"),
    _case("image: two-frame GIF as the portrait", lambda: image("two_frames.gif"), "error", "StyleHEAT_FaceAlign", "takes one portrait; got 2 images"),
    _case("image: file that is not in the input folder", lambda: image("../portrait.png"), "refused", "value_not_in_list|Invalid image file", "image"),
    # videos: LoadVideo -> 3DMM Extract (VIDEO input, decoded a chunk at a time)
    _case("video: audio-only mp4", lambda: video("audio_only.mp4"), "error", "StyleHEAT_3DMMExtract", r"audio_only.mp4' has no video stream \(it holds audio\)", "use Load Audio"),
    _case("video: a video stream with 0 frames", lambda: video("zero_frames.mkv"), "error", "StyleHEAT_3DMMExtract", "zero_frames.mkv' has no picture frames"),
    _case("video: random bytes", lambda: video("corrupt.mp4"), "error", "StyleHEAT_3DMMExtract", "corrupt.mp4' cannot be read as a video", "export it again"),
    _case("video: cut-off mp4", lambda: video("truncated.mp4"), "error", "StyleHEAT_3DMMExtract", "truncated.mp4' cannot be read as a video", "export it again"),
    # audio: Load Audio -> Audio Flow
    _case("audio: 0 samples", lambda: audio("empty.wav"), "error", "StyleHEAT_LoadAudio", "empty.wav has no audio"),
    _case("audio: NaN samples", lambda: audio("nan.wav"), "error", "StyleHEAT_AudioFlow", "NaN or infinite samples"),
    _case("audio: an infinite sample", lambda: audio("inf.wav"), "error", "StyleHEAT_AudioFlow", "NaN or infinite samples"),
    _case("audio: 8 kHz", lambda: audio("rate_8k.wav"), "success", "CoefficientTrack 3 frames"),
    _case("audio: 96 kHz", lambda: audio("rate_96k.wav"), "success", "CoefficientTrack 3 frames"),
    _case("audio: 8 channels", lambda: audio("eight_channels.wav"), "success", "CoefficientTrack 3 frames"),
    _case("audio: header claims 4 GB", lambda: audio("huge_header.wav"), "success", "CoefficientTrack 3 frames"),
    _case("audio: one sample", lambda: audio("one_sample.wav"), "success", "CoefficientTrack 1 frames"),
    _case("audio: text file named .wav", lambda: audio("not_audio.wav"), "error", "StyleHEAT_LoadAudio", "not_audio.wav"),
    _case("audio: file outside the input folder", lambda: audio("../server.log"), "refused", "value_not_in_list", "file"),
    _case("audio: fps NaN", lambda: audio(fps=math.nan), "error", "StyleHEAT_AudioFlow", f"'fps' = nan {NOT_FINITE}"),
    # checkpoints: official names in hostile/<kind>/ show up in the menus
    _case("checkpoint: 0-byte StyleGAN", lambda: loader("StyleHEAT_LoadStyleGAN", stylegan=f"{HOSTILE}/empty/StyleGAN_e4e.pth", precision="auto"), "error", "StyleHEAT_LoadStyleGAN", "is empty: download it again"),
    _case(
        "checkpoint: 0-byte SadTalker safetensors", lambda: loader("StyleHEAT_LoadAudioModels", sadtalker=f"{HOSTILE}/empty/SadTalker_V0.0.2_256.safetensors", audio2pose_pth=""),
        "error", "StyleHEAT_LoadAudioModels", "is empty: download it again",
    ),
    _case("checkpoint: truncated presets", lambda: loader("StyleHEAT_LoadExpressionPresets", expressions=f"{HOSTILE}/truncated/expression.pth"), "error", "StyleHEAT_LoadExpressionPresets", "truncated/expression.pth", "download it again"),
    _case("checkpoint: crafted pickle as StyleGAN", lambda: loader("StyleHEAT_LoadStyleGAN", stylegan=f"{HOSTILE}/pickle/StyleGAN_e4e.pth", precision="auto"), "error", "StyleHEAT_LoadStyleGAN", UNSAFE, "--trust-this-file"),
    _case("checkpoint: crafted pickle as presets", lambda: loader("StyleHEAT_LoadExpressionPresets", expressions=f"{HOSTILE}/pickle/expression.pth"), "error", "StyleHEAT_LoadExpressionPresets", UNSAFE),
    _case("checkpoint: crafted pickle as AudioWarper", lambda: loader("StyleHEAT_LoadAudioWarper", audio_warper=f"{HOSTILE}/pickle/audio_warper.pt"), "error", "StyleHEAT_LoadAudioWarper", UNSAFE),
    _case("checkpoint: crafted pickle as direction file", lambda: direction(edit="custom direction file", direction_file=f"{HOSTILE}/pickle_direction.npy"), "error", "StyleHEAT_StyleDirection", "pickle_direction.npy", "(?i)could run code|pickle"),
    _case("checkpoint: HFGI weights named StyleGAN", lambda: loader("StyleHEAT_LoadStyleGAN", stylegan=f"{HOSTILE}/wrong/StyleGAN_e4e.pth", precision="auto"), "error", "StyleHEAT_LoadStyleGAN", "wrong/StyleGAN_e4e.pth"),
    _case("checkpoint: direction file of NaN", lambda: direction(edit="custom direction file", direction_file=f"{HOSTILE}/nan_direction.npy"), "error", "StyleHEAT_StyleDirection", "holds NaN or infinite values"),
    # paths
    _case("path: direction_file ../../../../etc/passwd", lambda: direction(edit="custom direction file", direction_file="../../../../etc/passwd"), "error", "StyleHEAT_StyleDirection", OUTSIDE),
    _case("path: direction_file /etc/passwd", lambda: direction(edit="custom direction file", direction_file="/etc/passwd"), "error", "StyleHEAT_StyleDirection", OUTSIDE),
    _case("path: direction_file an absolute path that does not exist", lambda: direction(edit="custom direction file", direction_file="/no/such/file.npy"), "error", "StyleHEAT_StyleDirection", OUTSIDE),
    _case("path: audio2pose_pth /etc/passwd", lambda: loader("StyleHEAT_LoadAudioModels", sadtalker="sadtalker/SadTalker_V0.0.2_256.safetensors", audio2pose_pth="/etc/passwd"), "error", "StyleHEAT_LoadAudioModels", OUTSIDE),
    _case("path: loader menu ../StyleGAN_e4e.pth", lambda: loader("StyleHEAT_LoadStyleGAN", stylegan="../StyleGAN_e4e.pth", precision="auto"), "refused", "value_not_in_list", "stylegan"),
    _case("path: a link the owner placed in the model folder", lambda: direction(edit="custom direction file", direction_file="links/outside.npy"), "success", "SourceLatent"),
    # widgets
    _case("widget: strength NaN", lambda: direction(strength=math.nan), "error", "StyleHEAT_StyleDirection", f"'strength' = nan {NOT_FINITE}"),
    _case("widget: strength inf", lambda: direction(strength=math.inf), "refused", "value_bigger_than_max", "strength"),
    _case("widget: strength 1e9", lambda: direction(strength=1e9), "refused", "value_bigger_than_max", "strength"),
    _case("widget: keyframes 0:1e9", lambda: direction(schedule="keyframes", keyframes="0:1e9"), "error", "StyleHEAT_StyleDirection", "keyframes: '0:1e9' is out of range"),
    _case("widget: keyframes 0:nan, 2:inf", lambda: direction(schedule="keyframes", keyframes="0:nan, 2:inf"), "error", "StyleHEAT_StyleDirection", f"keyframes: '0:nan' has a value that {NOT_FINITE}"),
    _case("widget: keyframes not frame:value", lambda: direction(schedule="keyframes", keyframes="soon: big"), "error", "StyleHEAT_StyleDirection", "is not 'frame:value'"),
    _case("widget: 3DMM Edit pitch NaN", lambda: edit3dmm(pitch=math.nan), "error", "StyleHEAT_3DMMEdit", f"'pitch' = nan {NOT_FINITE}"),
    _case("widget: 3DMM Edit frames negative", lambda: edit3dmm(frames=-5), "refused", "value_smaller_than_min", "frames"),
    _case("widget: 3DMM Edit keyframe weight 50", lambda: edit3dmm(schedule="keyframes", keyframes="0:0, 1:50"), "error", "StyleHEAT_3DMMEdit", "keyframes: '1:50' is out of range"),
    _case("widget: 3DMM Extract smoothing -inf", lambda: extract(smoothing=-math.inf), "refused", "value_smaller_than_min", "smoothing"),
    _case("widget: 3DMM Extract smoothing NaN", lambda: extract(smoothing=math.nan), "error", "StyleHEAT_3DMMExtract", f"'smoothing' = nan {NOT_FINITE}"),
    _case("widget: relative without a source portrait", lambda: extract(relative=True), "error", "StyleHEAT_3DMMExtract", "need the source portrait: connect it to 'source_portrait'"),
    _case("widget: unknown combo value", lambda: extract(crop_mode="sideways"), "refused", "value_not_in_list", "crop_mode"),
    _case("widget: text where a number goes", lambda: edit3dmm(yaw="left"), "refused", "invalid_input_type", "yaw"),
]


# ---------------------------------------------------------------- the server


@dataclass
class Hostile:
    """The module's server and what the cases watch."""

    server: ComfyUIServer
    models: Path
    recipe: Path
    home: Path
    marker: Path
    runs: int = 0

    def watched(self) -> dict[str, dict]:
        base = {p: s for p, s in tree_state(self.server.base).items() if not p.startswith(WRITABLE)}
        return {"base": base, "models": tree_state(self.models), "recipe": tree_state(self.recipe), "home": tree_state(self.home)}

    def submit(self, graph: dict) -> tuple[str, str, dict | None]:
        """('refused' | 'error' | 'success', message or probe text, history entry)."""
        try:
            prompt_id = self.server.queue(graph)
        except ComfyUIError as refused:
            return "refused", str(refused), None
        entry = self.server.wait(prompt_id, PROMPT_TIMEOUT)
        if entry["status"]["status_str"] != "success":
            return "error", error_message(entry), entry
        return "success", probe_text(entry), entry

    def alive_and_working(self) -> None:
        """The server answers, and a valid prompt that runs pack code (not only cached results) succeeds."""
        assert self.server.process.poll() is None, self.server.log_tail()
        assert self.server.get("/system_stats")["system"]["argv"]
        self.runs += 1
        outcome, text, _ = self.submit(edit3dmm(frames=self.runs))
        assert (outcome, text) == ("success", f"CoefficientTrack {self.runs} frames"), text


def probe_text(entry: dict) -> str:
    return " ".join(" ".join(output.get("text", [])) for output in entry.get("outputs", {}).values())


def rss_kib(pid: int) -> int:
    """VmRSS of a process from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    base, home, marker = root / "comfyui", root / "home", root / "marker-created-by-unpickling"
    for folder in (base / "custom_nodes", base / "input", home):
        folder.mkdir(parents=True)
    (base / "custom_nodes" / "styleheat_tests_probe.py").write_text(PROBE)
    recipe = recipe_model_folder()
    hostile_model_folder(root / "models", recipe, marker, root / "elsewhere" / "outside.npy")
    portrait = rgb(PORTRAIT)
    write_images(base / "input", portrait[::2, ::2].copy())
    cut_clip(TALKING_VIDEO, base / "input" / "driving.mp4", 1)
    cut_clip(TALKING_VIDEO, base / "input" / "long.mp4", CANCEL_FRAMES, size=256)
    write_videos(base / "input", base / "input" / "long.mp4")
    speech, rate = soundfile.read(SPEECH, dtype="float32", always_2d=True)
    assert rate == 16000
    write_audio(base / "input", speech.mean(axis=1))
    repository, install = tree_state(ROOT), tree_state(COMFYUI_DIR.resolve())
    server = ComfyUIServer(base, root / "models", env={"HOME": str(home)}).start()
    state = Hostile(server, root / "models", recipe, home, marker)
    try:
        state.alive_and_working()  # the base graph's models load once, here
        yield state
    finally:
        server.stop()
    assert changes(repository, tree_state(ROOT)) == []
    assert changes(install, tree_state(COMFYUI_DIR.resolve())) == []
    assert not marker.exists()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_ends_as_expected_and_harms_nothing(hostile, case):
    before = hostile.watched()
    outcome, message, _ = hostile.submit(case.graph())
    assert outcome == case.outcome, message
    for pattern in case.says:
        assert re.search(pattern, message), f"{pattern!r} not in: {message}"
    assert "Traceback" not in message
    hostile.alive_and_working()
    after = hostile.watched()
    assert {kind: changes(before[kind], after[kind]) for kind in before} == {kind: [] for kind in before}
    assert not hostile.marker.exists()


def test_the_suite_has_at_least_40_cases_of_every_kind():
    kinds = {case.name.split(":")[0] for case in CASES}
    assert len(CASES) >= 40 and kinds == {"image", "video", "audio", "checkpoint", "path", "widget"}


def test_a_refused_path_reads_the_same_whether_or_not_the_file_exists(hostile):
    messages = []
    for name in ("/etc/passwd", "/no/such/file.npy", "../../../../etc/passwd", "../../../../no/such/file"):
        outcome, message, _ = hostile.submit(direction(edit="custom direction file", direction_file=name))
        assert outcome == "error"
        messages.append(message.replace(name, "NAME"))
    assert len(set(messages)) == 1, messages


def test_cancel_during_decode_stops_it_and_the_next_prompt_runs(hostile):
    server = hostile.server
    prompt_id = server.queue(decode("long.mp4", chunk_size=1))
    deadline = time.monotonic() + PROMPT_TIMEOUT
    while not [e for e in server.events(prompt_id, "progress") if e["node"] == "c_decode"]:
        assert time.monotonic() < deadline and server.process.poll() is None, server.log_tail()
        time.sleep(0.1)
    pressed = time.monotonic()
    server.post("/interrupt", {})
    entry = server.wait(prompt_id, PROMPT_TIMEOUT)
    assert entry["status"]["status_str"] == "error"
    interrupted = server.events(prompt_id, "execution_interrupted")
    assert interrupted and interrupted[0]["node_id"] == "c_decode", error_message(entry)
    done = [e for e in server.events(prompt_id, "progress") if e["node"] == "c_decode"]
    assert done[-1]["value"] < done[-1]["max"] == CANCEL_FRAMES
    assert time.monotonic() - pressed < 60  # one chunk of one frame, on a slow CI machine
    hostile.alive_and_working()


def test_ten_prompts_back_to_back_all_render_and_memory_stays_flat(hostile):
    """Each prompt re-renders (its chunk size differs, so ComfyUI cannot reuse the last result)."""
    server = hostile.server
    outcome, text, _ = hostile.submit(decode("driving.mp4", chunk_size=1))
    assert (outcome, text) == ("success", "Tensor 1x256x256x3"), text
    after_first = rss_kib(server.process.pid)
    ids = [server.queue(decode("driving.mp4", chunk_size=size)) for size in range(2, QUEUED + 1)]
    entries = [server.wait(prompt_id, PROMPT_TIMEOUT) for prompt_id in ids]
    assert [e["status"]["status_str"] for e in entries] == ["success"] * (QUEUED - 1), [error_message(e) for e in entries]
    assert {probe_text(e) for e in entries} == {"Tensor 1x256x256x3"}
    after_last = rss_kib(server.process.pid)
    assert after_last <= after_first * (1 + RSS_TOLERANCE), json.dumps({"after_first_kib": after_first, "after_last_kib": after_last})
    hostile.alive_and_working()
