"""The pack on the canvas of a real ComfyUI 0.3.75 (frontend 1.32.9) in Debian's Chromium: every example workflow
loads cleanly and tidily, search finds every node, a workflow queued from the UI runs and shows its previews;
and through the API, previews come back in the node's ui and ComfyUI's cache re-runs only what an edit changes.

Screenshots are kept in pytest's temporary folder (printed at the end of each browser test).
If Chromium or Playwright cannot be installed, the browser tests fail and say why; they never skip.
"""

import json
import socket
import time

import pytest
import soundfile
from PIL import Image

from scripts.build_workflows import GRAPHS, api_path, title, ui_path
from scripts.comfyui_server import ComfyUIServer, error_message
from scripts.readme_screenshots import preview_graph
from scripts.workflow_thumbnail import SIZE
from tests.support import browser
from tests.support.clips import cut_clip
from tests.support.model_folder import recipe_model_folder
from tests.support.preprocess import MEDIA_DIR, PORTRAIT, TALKING_VIDEO

pytestmark = [pytest.mark.media, pytest.mark.skipif(not MEDIA_DIR.is_dir(), reason=f"real media folder {MEDIA_DIR} is absent")]
NAMES = sorted(GRAPHS)
SEARCH_CARD_NAMES = ("Invert", "3DMM Extract", "Video Flow", "Audio Flow", "Warp Features", "Calibrate", "StyleGAN Decode", "Style Direction")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("canvas")
    server = ComfyUIServer(base, recipe_model_folder(), port=_free_port()).start()
    portrait = Image.open(PORTRAIT).convert("RGB")
    portrait.resize((portrait.width // 2, portrait.height // 2)).save(server.input_dir / "portrait.png")
    cut_clip(TALKING_VIDEO, server.input_dir / "driving.mp4", 2)
    speech, rate = soundfile.read(MEDIA_DIR / "speech_radio34_16k.wav", dtype="float32")
    soundfile.write(server.input_dir / "speech.wav", speech[: rate // 10], rate)
    status, _ = server.post("/settings", browser.SETTINGS)
    assert status == 200
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium():
    try:
        browser.check_installed()
    except browser.BrowserMissing as error:
        pytest.fail(str(error))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(browser.CHROMIUM), args=browser.FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def tab(server, chromium):
    return browser.open_frontend(chromium, server.url)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    print(f"\nscreenshots: {folder}")


def _pack_errors(console: list[str]) -> list[str]:
    return [line for line in console if line.split(":", 1)[0] in ("error", "pageerror") and "styleheat" in line.lower()]


@pytest.mark.parametrize("name", NAMES)
def test_workflow_loads_without_missing_nodes_overlaps_backward_links_or_cut_titles(tab, shots, name):
    before = len(tab.console)
    browser.load_workflow(tab, json.loads(ui_path(name).read_text()))
    state = browser.graph_state(tab)
    tab.screenshot(shots / f"{name}.png")
    assert browser.visible_dialogs(tab) == []
    assert [n["type"] for n in state["nodes"] if not n["registered"]] == []
    assert len(state["nodes"]) == len(json.loads(api_path(name).read_text())) + 1  # and the note
    assert browser.overlaps(state["nodes"]) == []
    assert browser.backward_links(state) == []
    assert browser.outside_groups(state) == []
    assert browser.cut_texts(tab) == []
    assert [g["title"] for g in state["groups"]][:2] == ["Models", "Portrait"]
    assert _pack_errors(tab.console[before:]) == []


def test_search_finds_every_node_by_the_pack_name_and_the_design_card_names(tab, server):
    ours = {node_id for node_id in server.get("/object_info") if node_id.startswith("StyleHEAT_")}
    assert set(browser.search_nodes(tab, "StyleHEAT")) >= ours
    for card in SEARCH_CARD_NAMES:
        found = browser.search_nodes(tab, card)
        assert any(node_id in ours for node_id in found[:3]), (card, found[:5])


def test_every_node_added_from_search_shows_its_whole_title(tab, server):
    ours = sorted(node_id for node_id in server.get("/object_info") if node_id.startswith("StyleHEAT_"))
    assert browser.cut_titles_of_new_nodes(tab, ours) == {}


def test_templates_dialog_lists_readable_titles_with_thumbnails(tab, shots):
    tab.evaluate("() => window.app.extensionManager.command.execute('Comfy.BrowseTemplates')")
    tab.page.get_by_text(title("video_reenactment"), exact=True).first.wait_for(timeout=30_000)
    time.sleep(2)
    tab.screenshot(shots / "templates.png")
    # The dialog shows fetched thumbnails as blob: images; ours are the only templates here and SIZE wide.
    widths = tab.evaluate("() => Array.from(document.querySelectorAll('.p-dialog img')).map(i => [i.naturalWidth, i.naturalHeight])")
    assert widths == [list(SIZE)] * len(NAMES)
    text = browser.visible_dialogs(tab)[0]
    assert all(title(name) in text for name in NAMES)
    browser.close_dialogs(tab)


@pytest.mark.slow
def test_a_workflow_queued_from_the_ui_runs_with_progress_and_shows_its_previews(tab, shots):
    name = "video_reenactment"
    browser.close_dialogs(tab)
    browser.load_workflow(tab, json.loads(ui_path(name).read_text()))
    tab.evaluate(
        """() => {
        window.__styleheat_events = [];
        for (const kind of ['progress', 'executed', 'execution_success', 'execution_error'])
            window.app.api.addEventListener(kind, e => window.__styleheat_events.push([kind, e.detail]));
    }"""
    )
    tab.page.locator("button:has-text('Run')").first.click()
    deadline = time.monotonic() + 900
    while not tab.evaluate("() => window.__styleheat_events.some(([k]) => k === 'execution_success' || k === 'execution_error')"):
        assert time.monotonic() < deadline, "the queued workflow did not finish within 15 minutes"
        time.sleep(2)
    events = tab.evaluate("() => window.__styleheat_events")
    assert [e for e in events if e[0] == "execution_error"] == []
    render = next(k for k, v in json.loads(api_path(name).read_text()).items() if v["class_type"] == "StyleHEAT_RenderVideo")
    progress = [e[1] for e in events if e[0] == "progress" and str(e[1]["node"]) == render]
    assert progress and progress[-1]["value"] == progress[-1]["max"] == 2
    executed = {str(e[1]["node"]): e[1]["output"] for e in events if e[0] == "executed"}
    by_type = {n["type"]: str(n["id"]) for n in json.loads(ui_path(name).read_text())["nodes"]}
    for previewing in ("StyleHEAT_FaceAlign", "StyleHEAT_Invert", "StyleHEAT_RenderVideo"):
        assert executed[by_type[previewing]]["images"], previewing
    tab.page.wait_for_function(  # Face Align's crop and Invert's side-by-side picture drawn on their nodes
        """ids => ids.every(id => (window.app.graph.getNodeById(Number(id)).imgs ?? []).some(i => i.naturalWidth > 0))""",
        arg=[by_type["StyleHEAT_FaceAlign"], by_type["StyleHEAT_Invert"]],
        timeout=30_000,
    )
    # The result video is a DOM element the canvas places over Render Video once the node is in view.
    video = executed[by_type["StyleHEAT_RenderVideo"]]["images"][0]["filename"]
    tab.evaluate(
        """id => { const n = window.app.graph.getNodeById(Number(id)), c = window.app.canvas;
                   c.ds.scale = 0.8; c.ds.offset = [400 / 0.8 - n.pos[0], 200 / 0.8 - n.pos[1]]; c.setDirty(true, true); }""",
        by_type["StyleHEAT_RenderVideo"],
    )
    tab.page.wait_for_function("name => Array.from(document.querySelectorAll('video')).some(v => v.src.includes(name))", arg=video, timeout=30_000)
    tab.screenshot(shots / "after_run_result.png")
    assert browser.overlaps(browser.graph_state(tab)["nodes"]) == []  # the previews fit the room left for them


def _executed_nodes(server, prompt_id: str) -> set[str]:
    return {e["node"] for e in server.events(prompt_id, "executing") if e.get("node") is not None}


@pytest.mark.slow
def test_moving_an_edit_slider_reruns_only_the_edit_and_the_preview(server):
    graph = preview_graph()  # Invert -> Style Direction (20); 3DMM Edit -> Motion Controls (22) -> Video Flow (23); Preview Frames (24)
    graph["24"]["inputs"].update(mode="frame", frame=99)
    first = server.wait(server.queue(graph))
    assert first["status"]["status_str"] == "success", error_message(first)
    (picture,) = first["outputs"]["24"]["images"]
    assert picture["type"] == "temp" and (server.base / "temp" / picture["filename"]).is_file()
    warned = Image.open(server.base / "temp" / picture["filename"]).convert("RGB")
    assert warned.getpixel((5, warned.height - 2)) == pytest.approx((250, 204, 21), abs=3)  # frame 99 of 25: clamped, warned

    graph["20"]["inputs"]["strength"] = 4.0
    second = server.queue(graph)
    assert server.wait(second)["status"]["status_str"] == "success"
    assert _executed_nodes(server, second) == {"20", "24"}
    graph["22"]["inputs"]["mouth"] = 0.0
    third = server.queue(graph)
    assert server.wait(third)["status"]["status_str"] == "success"
    assert _executed_nodes(server, third) == {"22", "23", "24"}
