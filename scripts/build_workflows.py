"""Write the example workflows: workflows/<name>.json (UI format) and workflows/api/<name>.json (its API twin).

Each graph is described once below in API form; the UI file is laid out from it with the running
server's /object_info. Run after changing a graph:  .venv/bin/python -m scripts.build_workflows
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from .comfyui_server import ROOT, ComfyUIServer
from .workflow_format import to_ui

WORKFLOWS = ROOT / "workflows"
PORTRAIT, VIDEO, SPEECH = "portrait.png", "driving.mp4", "speech.wav"


def _node(class_type: str, title: str | None = None, **inputs) -> dict:
    node = {"class_type": class_type, "inputs": inputs}
    if title:
        node["_meta"] = {"title": title}
    return node


def _models() -> dict:
    return {
        "3": _node("StyleHEAT_LoadStyleGAN", stylegan="StyleGAN_e4e.pth", precision="auto"),
        "4": _node("StyleHEAT_LoadEncoder", e4e="Encoder_e4e.pth", hfgi="hfgi.pth", precision="auto"),
        "5": _node("StyleHEAT_LoadMotionModels", styleheat="StyleHEAT_visual.pt", precision="auto"),
        "6": _node("StyleHEAT_LoadDeep3D", deep3d="Deep3D/epoch_20.pth", bfm_landmarks="BFM/similarity_Lm3D_all.mat", precision="auto"),
    }


def _source(latent_node: str = "7") -> dict:
    return {
        "1": _node("LoadImage", "Portrait", image=PORTRAIT),
        "2": _node("StyleHEAT_FaceAlign", image=["1", 0], size="1024", face_index=0),
        latent_node: _node(
            "StyleHEAT_Invert", stylegan=["3", 0], encoder=["4", 0], portrait=["2", 0], refine_steps=0,
            early_stop_patience=0, min_improvement=0.001,
        ),
    }


def _render(latent: list, flow: list, prefix: str, audio: list | None = None, sound_video: list | None = None) -> dict:
    """Warp, calibrate, and Render Video: rendered, pasted back into the portrait and encoded a chunk at a time."""
    sound = {"audio": audio} if audio is not None else {"sound_video": sound_video} if sound_video is not None else {}
    return {
        "12": _node("StyleHEAT_WarpFeatures", latent=latent, flow=flow),
        "13": _node("StyleHEAT_Calibrate", features=["12", 0], motion_models=["5", 0]),
        "14": _node(
            "StyleHEAT_RenderVideo", stylegan=["3", 0], features=["13", 0], size="1024", chunk_size=4, codec="h264", quality=18,
            filename_prefix=f"styleheat/{prefix}", **sound, crop=["2", 1], original=["1", 0], mask_shape="face", feather=0.06, fps=0.0,
            start_frame=0, frame_count=0,
        ),
    }


def _driving_video() -> dict:
    """The driving video as a VIDEO, read a chunk at a time by 3DMM Extract (never one IMAGE of every frame)."""
    return {
        "8": _node("LoadVideo", "Driving video", file=VIDEO),
        "10": _node(
            "StyleHEAT_3DMMExtract", deep3d=["6", 0], crop_mode="fixed", expression_only=False, relative=False, smoothing=0.0,
            face_index=0, on_missing="error", video=["8", 0], fps=0.0,
        ),
        "11": _node("StyleHEAT_VideoFlow", motion_models=["5", 0], coefficients=["10", 0]),
    }


def video_reenactment() -> dict:
    """Portrait + driving video -> talking video pasted back into the portrait, with the video's sound."""
    return {**_models(), **_source(), **_driving_video(), **_render(["7", 0], ["11", 0], "reenactment", sound_video=["8", 0])}


def attribute_editing() -> dict:
    """Video-driven, with the source aged over the video by an InterFaceGAN direction (official attribute editing)."""
    graph = {**_models(), **_source(), **_driving_video(), **_render(["18", 0], ["11", 0], "attribute_edit", sound_video=["8", 0])}
    graph["18"] = _node(
        "StyleHEAT_StyleDirection", latent=["7", 0], edit="age (InterFaceGAN)", strength=5.0, ramp=True, direction_file="",
        schedule="official", keyframes="0:0, 24:5",
    )
    return graph


def intuitive_editing() -> dict:
    """A still portrait turned and re-posed by editing its own 3DMM coefficients (official intuitive editing)."""
    graph = {**_models(), **_source(), **_render(["7", 0], ["11", 0], "intuitive_edit")}
    graph["10"] = _node(
        "StyleHEAT_3DMMExtract", deep3d=["6", 0], crop_mode="fixed", expression_only=False, relative=False, smoothing=0.0,
        face_index=0, on_missing="error", frames=["1", 0], fps=0.0,
    )
    graph["19"] = _node(
        "StyleHEAT_3DMMEdit", coefficients=["10", 0], pitch=0.0, yaw=15.0, roll=0.0, expression="keep",
        expression_strength=1.0, ramp=True, frames=25, translation_x=0.0, translation_y=0.0, translation_z=0.0,
        blink=0.0, mouth_open=0.0, schedule="by ramp toggle", keyframes="0:0, 24:1", preset="none",
    )
    graph["11"] = _node("StyleHEAT_VideoFlow", motion_models=["5", 0], coefficients=["19", 0])
    return graph


def _portrait_motion() -> dict:
    return {
        "10": _node(
            "StyleHEAT_3DMMExtract", "Portrait 3DMM", deep3d=["6", 0], crop_mode="fixed", expression_only=False, relative=False,
            smoothing=0.0, face_index=0, on_missing="error", frames=["1", 0], fps=0.0,
        ),
    }


def _speech(fps: float, pose_from: list | None = None) -> dict:
    flow = {
        "motion_models": ["5", 0], "audio_models": ["20", 0], "source": ["10", 0], "audio": ["21", 0], "fps": fps,
        "pose_style": 0, "still": pose_from is not None, "blink": True, "seed": 0,
    }
    if pose_from is not None:
        flow["pose_from"] = pose_from  # with 'still', the head follows the driving video alone
    return {
        "20": _node("StyleHEAT_LoadAudioModels", sadtalker="sadtalker/SadTalker_V0.0.2_256.safetensors", audio2pose_pth=""),
        "21": _node("StyleHEAT_LoadAudio", "Speech", file=SPEECH),
        "22": _node("StyleHEAT_AudioFlow", **flow),
    }


def audio_driven() -> dict:
    """Portrait + speech -> talking video (SadTalker audio-to-coefficients, then the StyleHEAT warper), with the speech."""
    return {**_models(), **_source(), **_portrait_motion(), **_speech(25.0), **_render(["7", 0], ["22", 0], "audio_driven", audio=["21", 0])}


def joint_audio_video() -> dict:
    """Lips and expression from speech, head pose from a driving video (at the video's frame rate: Audio Flow fps 0)."""
    graph = {**_models(), **_source(), **_portrait_motion(), **_driving_video(), **_speech(0.0, ["23", 0])}
    graph["23"] = graph.pop("10")
    graph["23"]["_meta"] = {"title": "Driving video 3DMM"}
    graph.update(_portrait_motion())
    del graph["11"]
    graph.update(_render(["7", 0], ["22", 0], "joint_audio_video", audio=["21", 0]))
    return graph


GRAPHS = {
    "audio_driven": audio_driven,
    "joint_audio_video": joint_audio_video,"video_reenactment": video_reenactment, "attribute_editing": attribute_editing, "intuitive_editing": intuitive_editing}


def main() -> int:
    with tempfile.TemporaryDirectory() as base:
        server = ComfyUIServer(Path(base), Path(base) / "models" / "styleheat").start()
        try:
            info = server.get("/object_info")
        finally:
            server.stop()
    (WORKFLOWS / "api").mkdir(parents=True, exist_ok=True)
    for name, build in GRAPHS.items():
        api = dict(sorted(build().items(), key=lambda item: int(item[0])))
        for node in api.values():
            node.setdefault("_meta", {"title": info[node["class_type"]]["display_name"]})
        (WORKFLOWS / "api" / f"{name}.json").write_text(json.dumps(api, indent=1) + "\n")
        (WORKFLOWS / f"{name}.json").write_text(json.dumps(to_ui(api, info), indent=1) + "\n")
        print(f"wrote workflows/{name}.json and workflows/api/{name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
