"""Make the README's canvas pictures (docs/images/): a laid-out example workflow, and on-node previews after a run.

They are made in a real ComfyUI 0.3.75 in Debian's Chromium with the stand-in recipe weights of the
test suite (tests/support/model_folder.py, needs ../shared), and labelled so: the faces they show are
not what the official checkpoints produce. Run: .venv/bin/python -m scripts.readme_screenshots
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from scripts.build_workflows import api_path, ui_path
from scripts.comfyui_server import ROOT, ComfyUIServer
from scripts.workflow_format import to_ui
from tests.support import browser
from tests.support.clips import cut_clip
from tests.support.model_folder import recipe_model_folder
from tests.support.preprocess import PORTRAIT, TALKING_VIDEO

IMAGES = ROOT / "docs" / "images"
LABEL = "Stand-in weights (test recipe), not the official checkpoints"
PREVIEW_NOTE = "Move a slider in Style Direction or Motion Controls, then run Preview Frames alone: only the edit and these frames re-run."


def _label(path: Path, text: str) -> None:
    """Write `text` in a banner along the top of the screenshot."""
    picture = Image.open(path).convert("RGB")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=22)
    draw.rectangle((0, 0, picture.width, 40), fill=(250, 204, 21))
    draw.text((12, 8), text, fill=(0, 0, 0), font=font)
    picture.save(path, optimize=True)


def preview_graph() -> dict:
    """A portrait, an ageing edit, LivePortrait-style motion controls and a strip of Preview Frames (no video decode)."""
    graph = {k: v for k, v in json.loads(api_path("intuitive_editing").read_text()).items() if v["class_type"].startswith(("LoadImage", "StyleHEAT_Load", "StyleHEAT_FaceAlign", "StyleHEAT_Invert", "StyleHEAT_3DMMExtract"))}
    ids = {v["class_type"]: k for k, v in graph.items()}
    graph["20"] = {"class_type": "StyleHEAT_StyleDirection", "inputs": {"latent": [ids["StyleHEAT_Invert"], 0], "edit": "age (InterFaceGAN)", "strength": 3.0, "ramp": True, "direction_file": ""}, "_meta": {"title": "Style Direction"}}
    graph["21"] = {"class_type": "StyleHEAT_3DMMEdit", "inputs": {"coefficients": [ids["StyleHEAT_3DMMExtract"], 0], "pitch": 0.0, "yaw": 15.0, "roll": 0.0, "expression": "keep", "expression_strength": 1.0, "ramp": True, "frames": 25}, "_meta": {"title": "3DMM Edit"}}
    graph["22"] = {
        "class_type": "StyleHEAT_MotionControls",
        "inputs": {"coefficients": ["21", 0], "expression_strength": 1.0, "pose_strength": 1.5, "expression_mode": "absolute", "pose_mode": "absolute", "eyes": 1.0, "mouth": 1.0, "smoothing": 1.0},
        "_meta": {"title": "Motion Controls"},
    }
    graph["23"] = {"class_type": "StyleHEAT_VideoFlow", "inputs": {"motion_models": [ids["StyleHEAT_LoadMotionModels"], 0], "coefficients": ["22", 0]}, "_meta": {"title": "Video Flow"}}
    graph["24"] = {
        "class_type": "StyleHEAT_PreviewFrames",
        "inputs": {"stylegan": [ids["StyleHEAT_LoadStyleGAN"], 0], "latent": ["20", 0], "flow": ["23", 0], "mode": "strip", "frame": 0, "count": 4, "size": "256", "motion_models": [ids["StyleHEAT_LoadMotionModels"], 0]},
        "_meta": {"title": "Preview Frames"},
    }
    return graph


def _run_from_ui(tab: browser.Page, timeout_s: float = 1800) -> None:
    tab.evaluate("() => { window.__done = false; for (const k of ['execution_success', 'execution_error']) window.app.api.addEventListener(k, () => { window.__done = true; }); }")
    tab.page.locator("button:has-text('Run')").first.click()
    deadline = time.monotonic() + timeout_s
    while not tab.evaluate("() => window.__done"):
        if time.monotonic() > deadline:
            raise TimeoutError("the workflow did not finish")
        time.sleep(2)
    time.sleep(3)


def _show(tab: browser.Page, node_ids: list[int] | None, scale: float) -> None:
    """Zoom to `scale` with these nodes (None: the whole graph, groups and note included) starting at the top left."""
    tab.evaluate(
        """([ids, scale]) => { const g = window.app.graph;
            const nodes = ids === null ? g._nodes : ids.map(i => g.getNodeById(i));
            const rects = nodes.map(n => Array.from(n.boundingRect)).concat(ids === null ? g._groups.map(gr => Array.from(gr._bounding)) : []);
            const left = Math.min(...rects.map(r => r[0])), top = Math.min(...rects.map(r => r[1])) - 40;
            const c = window.app.canvas; c.ds.scale = scale; c.ds.offset = [70 / scale - left, 90 / scale - top]; c.setDirty(true, true); }""",
        [node_ids, scale],
    )
    time.sleep(1)


def main() -> int:
    from playwright.sync_api import sync_playwright

    browser.check_installed()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as base, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        server = ComfyUIServer(Path(base), recipe_model_folder(), port=port).start()
        try:
            Image.open(PORTRAIT).convert("RGB").save(server.input_dir / "portrait.png")
            cut_clip(TALKING_VIDEO, server.input_dir / "driving.mp4", 2)
            server.post("/settings", browser.SETTINGS)
            info = server.get("/object_info")
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=str(browser.CHROMIUM), args=browser.FLAGS)
                tab = browser.open_frontend(chromium, server.url)
                tab.page.set_viewport_size({"width": 1920, "height": 1080})
                browser.load_workflow(tab, json.loads(ui_path("video_reenactment").read_text()))
                _show(tab, None, 0.62)
                tab.screenshot(IMAGES / "canvas_workflow.png")
                _label(IMAGES / "canvas_workflow.png", f"Video-driven talking face, laid out by stage. {LABEL}")
                ui = to_ui(preview_graph(), info, note=PREVIEW_NOTE)
                browser.load_workflow(tab, ui)
                _run_from_ui(tab)
                shown = [n["id"] for n in ui["nodes"] if n["type"] in ("StyleHEAT_Invert", "StyleHEAT_StyleDirection", "StyleHEAT_PreviewFrames")]
                _show(tab, shown, 0.8)
                tab.screenshot(IMAGES / "canvas_preview.png")
                _label(IMAGES / "canvas_preview.png", f"On-node previews: Invert, Preview Frames. {LABEL}")
                chromium.close()
        finally:
            server.stop()
    print(f"wrote {IMAGES / 'canvas_workflow.png'} and {IMAGES / 'canvas_preview.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
