"""The main job, headless: a talking-face video from a portrait and a driving video, through the example
workflow workflows/api/video_reenactment.json run by a real ComfyUI server with this pack.

    .venv/bin/python -m scripts.run_main_job --portrait me.jpg --video driving.mp4 --out talking.mp4 [--models DIR] [--size 512]

While the graph runs, every progress update of the server is echoed on stderr: node title, steps
done/total, elapsed time and estimated time left.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TextIO

from PIL import Image

from styleheat_core.io.atomic import atomic_path

from .comfyui_server import ROOT, ComfyUIError, ComfyUIServer

WORKFLOW = ROOT / "workflows" / "api" / "video_reenactment.json"
SIZES = ("1024", "512", "256")


def node_id_of(graph: dict, class_type: str) -> str:
    """The id of the one node of this class in an API-format graph."""
    (node_id,) = (node_id for node_id, node in graph.items() if node["class_type"] == class_type)
    return node_id


def rendered_video(server: ComfyUIServer, entry: dict, graph: dict) -> Path:
    """The file Render Video saved, as its UI output names it."""
    (saved,) = entry["outputs"][node_id_of(graph, "StyleHEAT_RenderVideo")]["images"]
    return server.output_dir / saved["subfolder"] / saved["filename"]


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressEcho:
    """Turns the server's websocket messages into progress lines: 'StyleGAN Decode: 12/40, 0:31 elapsed, ETA 1:12'.

    A node's clock starts when the server says it executes it ('executing'), else at its first
    update. At most one line per `interval` seconds per node, but always the first and the last.
    """

    def __init__(self, titles: dict[str, str], stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic, interval: float = 1.0):
        self.titles, self.stream, self.clock, self.interval = titles, stream, clock, interval
        self.started: dict[str, float] = {}
        self.printed: dict[str, float] = {}

    def __call__(self, message: dict) -> None:
        data = message.get("data") or {}
        node = None if data.get("node") is None else str(data["node"])
        if message.get("type") == "executing" and node is not None:
            self.started[node] = self.clock()
        elif message.get("type") == "progress" and node is not None:
            self._update(node, int(data.get("value", 0)), int(data.get("max", 0)))

    def _update(self, node: str, done: int, total: int) -> None:
        now = self.clock()
        start = self.started.setdefault(node, now)
        last = self.printed.get(node)
        if last is not None and now - last < self.interval and done < total:
            return
        self.printed[node] = now
        elapsed = now - start
        eta = _clock(elapsed / done * (total - done)) if 0 < done else "unknown"
        title = self.titles.get(node, f"node {node}")
        (self.stream or sys.stderr).write(f"{title}: {done}/{total}, {_clock(elapsed)} elapsed, ETA {eta}\n")
        (self.stream or sys.stderr).flush()


def node_titles(graph: dict) -> dict[str, str]:
    """{node id: the title a user sees} of an API-format graph."""
    return {node_id: node.get("_meta", {}).get("title", node["class_type"]) for node_id, node in graph.items()}


def run(portrait: Path, video: Path, out: Path, models: Path, size: str = "1024", port: int | None = None, progress: TextIO | None = None) -> Path:
    """Run the example graph on these inputs and copy its mp4 to `out`; progress lines go to `progress` (default stderr)."""
    for path, what in ((portrait, "portrait"), (video, "driving video")):
        if not path.is_file():
            raise FileNotFoundError(f"{what} {path} does not exist")
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}; got {size!r}")
    graph = json.loads(WORKFLOW.read_text())
    with tempfile.TemporaryDirectory(prefix="styleheat-") as base:
        echo = ProgressEcho(node_titles(graph), progress)
        server = ComfyUIServer(Path(base), models.resolve(), port=port, on_message=echo).start()
        try:
            Image.open(portrait).convert("RGB").save(server.input_dir / "portrait.png")
            shutil.copyfile(video, server.input_dir / f"driving{video.suffix.lower()}")
            graph[node_id_of(graph, "LoadVideo")]["inputs"]["file"] = f"driving{video.suffix.lower()}"
            graph[node_id_of(graph, "StyleHEAT_RenderVideo")]["inputs"]["size"] = size
            entry = server.run(graph, timeout=24 * 3600)
            with atomic_path(out) as temporary:
                shutil.copyfile(rendered_video(server, entry, graph), temporary)
        finally:
            server.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portrait", type=Path, required=True)
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("talking.mp4"))
    parser.add_argument("--models", type=Path, default=ROOT / "models" / "styleheat", help="folder with the official checkpoints")
    parser.add_argument("--size", choices=SIZES, default="1024", help="size of the generated face before paste-back")
    args = parser.parse_args()
    try:
        print(f"wrote {run(args.portrait, args.video, args.out, args.models, args.size)}")
    except (ComfyUIError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
