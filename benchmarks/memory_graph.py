"""Peak resident memory of the whole example graph (workflows/api/video_reenactment.json) in a real ComfyUI server, by driving-video length.

    python benchmarks/memory_graph.py [FRAMES ...]      (default: 100 2000)

For each length a fresh server (tests' recipe-weight checkpoints: every network at its real size) runs
the graph on the 640x896 portrait and a driving video of that many 512² frames with sound (the real
talking clip, looped). Reported: the server process's peak RSS before 3DMM Extract starts (server,
Deep3D), the peak from then on (VmHWM reset through /proc/PID/clear_refs: extraction, the other
loaders, inversion, Render Video), and the lifetime peak; and, to say where a difference between
lengths arises, the largest resident set sampled (every 0.5 s) while each node executed, and Render
Video's smallest and largest samples in ten equal runs of its frames (flat when nothing accumulates).
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measure import MIB, growth_lines, reset_peak, status_kib  # noqa: E402

from scripts.comfyui_server import ComfyUIServer, error_message  # noqa: E402
from scripts.run_main_job import WORKFLOW, rendered_video  # noqa: E402
from styleheat_core.preprocess.video_io import read_soundtrack  # noqa: E402
from tests.support.model_folder import recipe_model_folder  # noqa: E402
from tests.support.preprocess import PORTRAIT, TALKING_VIDEO  # noqa: E402

EXTRACT_NODE = "10"
RENDER_NODE = "14"


def looped_video(target: Path, frames: int) -> Path:
    """The talking clip (with its sound) looped to `frames` frames, re-encoded as H.264 + AAC."""
    with av.open(str(TALKING_VIDEO)) as container:
        rate = Fraction(container.streams.video[0].average_rate)
        clip = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    samples, sample_rate = read_soundtrack(TALKING_VIDEO)
    per_frame = sample_rate / rate
    with av.open(str(target), "w") as out:
        video = out.add_stream("libx264", rate=rate, options={"crf": "20"})
        video.width, video.height, video.pix_fmt = clip[0].shape[1], clip[0].shape[0], "yuv420p"
        audio = out.add_stream("aac", rate=sample_rate)
        audio.layout = "stereo" if samples.shape[0] == 2 else "mono"
        written = 0
        for index in range(frames):
            out.mux(video.encode(av.VideoFrame.from_ndarray(clip[index % len(clip)], format="rgb24")))
            upto = round((index + 1) * per_frame)
            part = np.take(samples, np.arange(written, upto) % samples.shape[1], axis=1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(part), format="fltp", layout=audio.layout.name)
            frame.sample_rate, frame.pts = sample_rate, written
            out.mux(audio.encode(frame))
            written = upto
        out.mux(video.encode())
        out.mux(audio.encode())
    return target


class NodePeaks:
    """The server's VmRSS sampled every `interval` seconds while a prompt runs: the largest sample per executing
    node, and Render Video's samples by frames done (its resting level between chunks and its peaks)."""

    def __init__(self, server: ComfyUIServer, prompt_id: str, render_node: str, interval: float = 0.5):
        self.peaks: dict[str, int] = {}
        self.render_samples: list[tuple[int, int]] = []
        self._prompt_id, self._render_node = prompt_id, render_node
        self._node: str | None = None  # the executing node, from the websocket as messages arrive
        self._frames = 0  # Render Video's frames done
        self._server, self._previous = server, server.on_message
        server.on_message = self._on_message
        if self._node is None:  # messages that arrived before this sampler listened
            executing = server.events(prompt_id, "executing")
            self._node = executing[-1].get("node") if executing else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(server, interval), daemon=True)
        self._thread.start()

    def _on_message(self, message: dict) -> None:
        data = message.get("data", {})
        if data.get("prompt_id") == self._prompt_id:
            if message.get("type") == "executing":
                self._node = data.get("node")
            elif message.get("type") == "progress" and data.get("node") == self._render_node:
                self._frames = int(data["value"])
        if self._previous is not None:
            self._previous(message)

    def _sample(self, server: ComfyUIServer, interval: float) -> None:
        while not self._stop.wait(interval):
            node = self._node
            if node is None:
                continue
            rss = status_kib("VmRSS", server.process.pid) * 1024
            self.peaks[node] = max(self.peaks.get(node, 0), rss)
            if node == self._render_node:
                self.render_samples.append((self._frames, rss))

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        self._server.on_message = self._previous
        return self.peaks

    def render_bands(self, frames: int, bands: int = 10) -> list[tuple[int, int, int]]:
        """(first frame, smallest, largest sampled RSS) for `bands` equal runs of Render Video's frames."""
        width = max(1, -(-frames // bands))
        grouped: dict[int, list[int]] = {}
        for done, rss in self.render_samples:
            if done < frames:
                grouped.setdefault(done // width * width, []).append(rss)
        return [(start, min(values), max(values)) for start, values in sorted(grouped.items())]


def measure(frames: int) -> dict:
    graph = json.loads(WORKFLOW.read_text())
    with tempfile.TemporaryDirectory(prefix="styleheat-bench-") as base:
        server = ComfyUIServer(Path(base), recipe_model_folder()).start()
        try:
            Image.open(PORTRAIT).convert("RGB").save(server.input_dir / "portrait.png")
            looped_video(server.input_dir / "driving.mp4", frames)
            pid = server.process.pid
            start = time.perf_counter()
            prompt_id = server.queue(graph)
            sampler = NodePeaks(server, prompt_id, RENDER_NODE)
            while not any(e.get("node") == EXTRACT_NODE for e in server.events(prompt_id, "executing")):
                time.sleep(0.05)
            loaded = status_kib("VmHWM", pid) * 1024
            reset_peak(pid)
            entry = server.wait(prompt_id, timeout=48 * 3600)
            node_peaks = sampler.stop()
            seconds = time.perf_counter() - start
            if entry["status"]["status_str"] != "success":
                raise RuntimeError(error_message(entry))
            with av.open(str(rendered_video(server, entry, graph))) as container:
                written = container.streams.video[0].frames
            after_loading = status_kib("VmHWM", pid) * 1024
        finally:
            server.stop()
    by_node = {f"{node} {graph[node]['class_type']}": peak for node, peak in node_peaks.items()}
    return {
        "frames": frames, "written": written, "peak_loading": loaded, "peak_after_loading": after_loading,
        "lifetime_peak": max(loaded, after_loading), "seconds": seconds, "node_peaks": by_node,
        "render_bands": sampler.render_bands(frames),
    }


def main(argv: list[str]) -> None:
    results = []
    for frames in map(int, argv or ["100", "2000"]):
        results.append(measure(frames))
        print(json.dumps(results[-1]), flush=True)
    print(f"Python {platform.python_version()}, {platform.machine()}")
    print("| driving frames | frames written | peak RSS before 3DMM Extract | peak RSS from 3DMM Extract on | lifetime peak RSS | graph time |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['frames']} | {r['written']} | {r['peak_loading'] / MIB:.0f} MiB | {r['peak_after_loading'] / MIB:.0f} MiB "
            f"| {r['lifetime_peak'] / MIB:.0f} MiB | {r['seconds'] / 60:.0f} min ({r['seconds'] / r['frames']:.2f} s/frame) |"
        )
    print("| node | " + " | ".join(f"largest sampled RSS, {r['frames']} frames" for r in results) + " |")
    print("|---" * (len(results) + 1) + "|")
    for node in results[0]["node_peaks"]:
        print(f"| {node} | " + " | ".join(f"{r['node_peaks'].get(node, 0) / MIB:.0f} MiB" for r in results) + " |")
    for r in results:
        print(f"Render Video, {r['frames']} frames: | frames from | smallest sampled RSS (resting between chunks) | largest sampled RSS |")
        for start, smallest, largest in r["render_bands"]:
            print(f"| {start} | {smallest / MIB:.0f} MiB | {largest / MIB:.0f} MiB |")
    for line in growth_lines(results, {"peak_after_loading": "from 3DMM Extract on", "lifetime_peak": "lifetime"}):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
