"""The main job, headless: a talking-face video from a portrait and a driving video, through the example
workflow workflows/api/video_reenactment.json run by a real ComfyUI server with this pack.

    .venv/bin/python -m scripts.run_main_job --portrait me.jpg --video driving.mp4 --out talking.mp4 [--models DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

from .comfyui_server import ROOT, ComfyUIError, ComfyUIServer

WORKFLOW = ROOT / "workflows" / "api" / "video_reenactment.json"


def rendered_video(server: ComfyUIServer, entry: dict, graph: dict) -> Path:
    """The file StyleHEAT Render Video saved, as its UI output names it."""
    render_id = next(node_id for node_id, node in graph.items() if node["class_type"] == "StyleHEAT_RenderVideo")
    (saved,) = entry["outputs"][render_id]["images"]
    return server.output_dir / saved["subfolder"] / saved["filename"]


def run(portrait: Path, video: Path, out: Path, models: Path, size: str = "1024", port: int = 8199) -> Path:
    """Run the example graph on these inputs and copy its mp4 to `out`."""
    for path, what in ((portrait, "portrait"), (video, "driving video")):
        if not path.is_file():
            raise FileNotFoundError(f"{what} {path} does not exist")
    graph = json.loads(WORKFLOW.read_text())
    with tempfile.TemporaryDirectory(prefix="styleheat-") as base:
        server = ComfyUIServer(Path(base), models.resolve(), port=port).start()
        try:
            Image.open(portrait).convert("RGB").save(server.input_dir / "portrait.png")
            shutil.copyfile(video, server.input_dir / f"driving{video.suffix.lower()}")
            graph["8"]["inputs"]["file"] = f"driving{video.suffix.lower()}"
            graph["14"]["inputs"]["size"] = size
            entry = server.run(graph, timeout=24 * 3600)
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_name(f"{out.stem}.partial{out.suffix}")
            shutil.copyfile(rendered_video(server, entry, graph), partial)
            os.replace(partial, out)
        finally:
            server.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portrait", type=Path, required=True)
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("talking.mp4"))
    parser.add_argument("--models", type=Path, default=ROOT / "models" / "styleheat", help="folder with the official checkpoints")
    parser.add_argument("--size", choices=["1024", "512", "256"], default="1024", help="size of the generated face before paste-back")
    args = parser.parse_args()
    try:
        print(f"wrote {run(args.portrait, args.video, args.out, args.models, args.size)}")
    except (ComfyUIError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
