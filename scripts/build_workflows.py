"""Write the example workflows: workflows/<title>.json (UI format, laid out by stage, with a <title>.jpg
thumbnail for the Templates dialog) and workflows/api/<name>.json (its API twin).

Each graph is described once below in API form; the UI file is laid out from it with the /object_info
of a ComfyUI server started for the purpose (on a free port). Run after changing a graph:
    .venv/bin/python -m scripts.build_workflows           # rewrite the files (stale ones are removed)
    .venv/bin/python -m scripts.build_workflows --check   # compare only, change nothing; exit 1 on drift
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import tempfile
from pathlib import Path

from styleheat_core.io.atomic import atomic_write_bytes

from .comfyui_server import ROOT, ComfyUIServer
from .workflow_format import to_ui
from .workflow_thumbnail import thumbnail

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


# How each workflow is listed in ComfyUI's Templates dialog: frontend 1.32.9 shows a pack's template under
# its file name (and the same name as its description), so the UI file is named by its title.
TITLES = {
    "video_reenactment": "Video-driven talking face",
    "audio_driven": "Speech-driven talking face",
    "joint_audio_video": "Lips from speech, head from video",
    "attribute_editing": "Ageing over the video",
    "intuitive_editing": "Turn a still portrait",
}
USAGE = """Put the StyleHEAT checkpoints in ComfyUI/models/styleheat (python -m styleheat_core.download fetches them).
Read left to right: Models -> Portrait -> Driving -> Motion -> Edit -> Render -> Save.
Pick your portrait{media} in the Load nodes and press Run; Save Video writes output/styleheat/.
Tuning an edit? Add Preview Frames after it and run only that node (right-click > Queue Selected Output Nodes):
a few frames render instead of the whole video."""
MEDIA = {
    "video_reenactment": " and driving video",
    "audio_driven": " and speech",
    "joint_audio_video": ", speech and driving video",
    "attribute_editing": " and driving video",
    "intuitive_editing": "",
}


def title(name: str) -> str:
    """The workflow's title: its file name in workflows/ and its name in the Templates dialog."""
    return TITLES.get(name, name.replace("_", " ").capitalize())


def ui_path(name: str) -> Path:
    return WORKFLOWS / f"{title(name)}.json"


def api_path(name: str) -> Path:
    return WORKFLOWS / "api" / f"{name}.json"


def fetch_object_info() -> dict:
    """/object_info of a private ComfyUI server with this pack (started on a free port, stopped again)."""
    with tempfile.TemporaryDirectory() as base:
        server = ComfyUIServer(Path(base), Path(base) / "models" / "styleheat").start()
        try:
            return server.get("/object_info")
        finally:
            server.stop()


def render(info: dict) -> dict[str, bytes]:
    """{path under workflows/: file content} of every example workflow: UI form + thumbnail, and the API twin."""
    files = {}
    for name, build in GRAPHS.items():
        api = dict(sorted(build().items(), key=lambda item: int(item[0])))
        for node in api.values():
            node.setdefault("_meta", {"title": info[node["class_type"]]["display_name"]})
        ui = to_ui(api, info, note=USAGE.format(media=MEDIA.get(name, "")))
        files[str(api_path(name).relative_to(WORKFLOWS))] = (json.dumps(api, indent=1) + "\n").encode()
        files[str(ui_path(name).relative_to(WORKFLOWS))] = (json.dumps(ui, indent=1) + "\n").encode()
        files[str(ui_path(name).with_suffix(".jpg").relative_to(WORKFLOWS))] = thumbnail(ui, title(name))
    return files


def _generated_files(folder: Path) -> list[Path]:
    """The files in `folder` that this script writes (UI workflows, thumbnails, API twins)."""
    return sorted([*folder.glob("*.json"), *folder.glob("*.jpg"), *folder.glob("api/*.json")])


def differences(files: dict[str, bytes], folder: Path, context_lines: int = 12) -> list[str]:
    """What differs between the rendered `files` and `folder`: a short diff per changed file, missing and unknown files."""
    found = []
    for relative, content in files.items():
        path = folder / relative
        if not path.is_file():
            found.append(f"missing  {relative}")
        elif path.read_bytes() != content:
            if relative.endswith(".jpg"):
                found.append(f"differs  {relative} (thumbnail)")
                continue
            diff = difflib.unified_diff(path.read_text().splitlines(), content.decode().splitlines(), f"{relative} (on disk)", f"{relative} (generated)", lineterm="", n=1)
            lines = list(diff)
            shown = lines[:context_lines] + ([f"... ({len(lines) - context_lines} more diff lines)"] if len(lines) > context_lines else [])
            found.append(f"differs  {relative}\n    " + "\n    ".join(shown))
    for path in _generated_files(folder):
        if str(path.relative_to(folder)) not in files:
            found.append(f"unknown  {path.relative_to(folder)} (not generated by scripts/build_workflows.py)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.build_workflows", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="regenerate in memory and compare with the files; change nothing; exit 1 when they differ")
    parser.add_argument("--dir", type=Path, default=WORKFLOWS, help="workflow folder (default: workflows/ of this repository)")
    args = parser.parse_args(argv)
    files = render(fetch_object_info())
    if args.check:
        found = differences(files, args.dir)
        for line in found:
            print(line)
        print(f"{len(found)} difference(s) between {args.dir} and the graphs in scripts/build_workflows.py" if found else f"{args.dir} is up to date")
        return 1 if found else 0
    for stale in _generated_files(args.dir):
        if str(stale.relative_to(args.dir)) not in files:
            stale.unlink()
    for relative, content in files.items():
        atomic_write_bytes(args.dir / relative, content)
        print(f"wrote {args.dir / relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
