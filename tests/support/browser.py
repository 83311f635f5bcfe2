"""Drive the real ComfyUI frontend in Debian's Chromium (scripts/setup_browser.sh installs both) with Playwright.

No browser is ever downloaded: Playwright launches the system /usr/bin/chromium. The helpers read
what the canvas really shows: node rectangles as rendered, the texts drawn on the canvas (to find
cut titles), the dialogs, the console.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}
# Settings a first start would otherwise interrupt with (the template browser, the Nodes 2.0 banner).
SETTINGS = {"Comfy.TutorialCompleted": True, "Comfy.Workflow.ShowMissingModelsWarning": False, "Comfy.VueNodes.Enabled": False}


class BrowserMissing(RuntimeError):
    """Chromium or Playwright is not installed: the message says which, and how to install it."""


def check_installed() -> None:
    """Raise BrowserMissing unless the system Chromium and Playwright for Python are both there."""
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        raise BrowserMissing(f"{CHROMIUM} is missing: run `bash scripts/setup_browser.sh` (apt-get install chromium) as root")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        raise BrowserMissing(f"Playwright for Python is missing ({error}): run `bash scripts/setup_browser.sh`") from error


@dataclass
class Page:
    """One browser tab on the ComfyUI frontend, with what its console said."""

    page: object
    console: list[str] = field(default_factory=list)

    def evaluate(self, script: str, argument=None):
        return self.page.evaluate(script, argument)

    def screenshot(self, path: Path) -> Path:
        self.page.screenshot(path=str(path))
        return path


def open_frontend(browser, url: str) -> Page:
    """A tab with the frontend loaded and its graph ready; every console message and page error is kept."""
    tab = Page(browser.new_page(viewport=VIEWPORT))
    tab.page.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
    tab.page.on("pageerror", lambda error: tab.console.append(f"pageerror: {error}"))
    tab.page.goto(url)
    tab.page.wait_for_function("() => window.app && window.app.graph && window.app.canvas && window.LiteGraph", timeout=120_000)
    return tab


def load_workflow(tab: Page, workflow: dict, settle_s: float = 20.0) -> None:
    """Load a UI workflow as the Open dialog does, then wait until every node's size stops changing (video previews)."""
    tab.evaluate("wf => window.app.loadGraphData(wf, true, true, 'test')", workflow)
    deadline, last = time.monotonic() + settle_s, None
    while time.monotonic() < deadline:
        time.sleep(1.0)
        sizes = tab.evaluate("() => window.app.graph._nodes.map(n => [n.id, ...n.size])")
        if sizes == last:
            return
        last = sizes


def graph_state(tab: Page) -> dict:
    """Nodes (id, type, title, rendered rectangle incl. title bar, whether the type is registered) and links (with their end points)."""
    return tab.evaluate(
        """() => {
        const g = window.app.graph;
        const nodes = g._nodes.map(n => ({id: n.id, type: n.type, title: n.title, rect: Array.from(n.boundingRect),
                                          registered: !!LiteGraph.registered_node_types[n.type]}));
        const links = Object.values(g.links ?? {}).concat(g._links ? Array.from(g._links.values()) : [])
            .filter(l => l && l.origin_id !== undefined)
            .map(l => ({id: l.id, origin: l.origin_id, target: l.target_id}));
        const unique = Object.values(Object.fromEntries(links.map(l => [l.id, l])));
        return {nodes, links: unique, groups: (g._groups ?? g.groups ?? []).map(gr => ({title: gr.title, rect: Array.from(gr._bounding ?? gr.bounding)}))};
    }"""
    )


def overlaps(nodes: list[dict]) -> list[tuple[str, str]]:
    """Pairs of node titles whose rendered rectangles intersect."""
    found = []
    for i, a in enumerate(nodes):
        ax, ay, aw, ah = a["rect"]
        for b in nodes[i + 1 :]:
            bx, by, bw, bh = b["rect"]
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                found.append((a["title"], b["title"]))
    return found


def backward_links(state: dict) -> list[tuple[str, str]]:
    """Links whose target does not start right of its source's right edge."""
    rects = {n["id"]: n for n in state["nodes"]}
    bad = []
    for link in state["links"]:
        source, target = rects[link["origin"]], rects[link["target"]]
        if not target["rect"][0] > source["rect"][0] + source["rect"][2]:
            bad.append((source["title"], target["title"]))
    return bad


def outside_groups(state: dict) -> list[str]:
    """Titles of nodes (other than notes) whose rendered rectangle is not inside exactly one group."""
    def inside(rect, group):
        return group[0] <= rect[0] and rect[0] + rect[2] <= group[0] + group[2] and group[1] <= rect[1] and rect[1] + rect[3] <= group[1] + group[3]

    return [n["title"] for n in state["nodes"] if n["type"] != "Note" and sum(inside(n["rect"], g["rect"]) for g in state["groups"]) != 1]


def cut_texts(tab: Page) -> list[str]:
    """Texts the canvas draws shortened with an ellipsis, each node drawn at 100 % zoom in turn."""
    return tab.evaluate(
        """() => {
        const drawn = [];
        const proto = CanvasRenderingContext2D.prototype;
        const original = proto.fillText;
        proto.fillText = function (text, ...rest) { drawn.push(String(text)); return original.call(this, text, ...rest); };
        try {
            const canvas = window.app.canvas;
            for (const node of window.app.graph._nodes) {
                canvas.ds.scale = 1;
                canvas.ds.offset = [-node.pos[0] + 40, -node.pos[1] + 80];
                canvas.setDirty(true, true);
                canvas.draw(true, true);
            }
        } finally { proto.fillText = original; }
        return [...new Set(drawn.filter(t => t.endsWith('…') || t.endsWith('...')))];
    }"""
    )


def cut_titles_of_new_nodes(tab: Page, node_types: list[str]) -> dict[str, str]:
    """Add each node type as the search box does (its default size) and return {type: drawn title} for titles drawn cut."""
    return tab.evaluate(
        """types => {
        const graph = window.app.graph, canvas = window.app.canvas, cut = {};
        graph.clear();
        const nodes = types.map((t, i) => { const n = LiteGraph.createNode(t); n.pos = [40 + (i % 4) * 600, 80 + Math.floor(i / 4) * 700]; graph.add(n); return n; });
        const proto = CanvasRenderingContext2D.prototype, original = proto.fillText, drawTitle = LiteGraph.LGraphNode.prototype.drawTitleText;
        let current = null;
        LiteGraph.LGraphNode.prototype.drawTitleText = function (...args) { current = this; try { return drawTitle.apply(this, args); } finally { current = null; } };
        proto.fillText = function (text, ...rest) {
            if (current && String(text) !== String(current.title)) cut[current.type] = String(text);
            return original.call(this, text, ...rest);
        };
        try {
            for (const node of nodes) {
                canvas.ds.scale = 1;
                canvas.ds.offset = [-node.pos[0] + 40, -node.pos[1] + 80];
                canvas.setDirty(true, true);
                canvas.draw(true, true);
            }
        } finally { proto.fillText = original; LiteGraph.LGraphNode.prototype.drawTitleText = drawTitle; graph.clear(); }
        return cut;
    }""",
        node_types,
    )


def search_nodes(tab: Page, query: str) -> list[str]:
    """Node ids the frontend's own node search (the double-click search box) finds for a query."""
    return tab.evaluate(
        """query => {
        const pinia = document.querySelector('#vue-app').__vue_app__.config.globalProperties.$pinia;
        const store = pinia._s.get('nodeDef');
        return store.nodeSearchService.searchNode(query).map(n => n.name);
    }""",
        query,
    )


def close_dialogs(tab: Page) -> None:
    """Close every open dialog through the frontend's dialog store (Escape does not reach the template browser)."""
    tab.evaluate(
        """() => { const dialogs = document.querySelector('#vue-app').__vue_app__.config.globalProperties.$pinia._s.get('dialog');
                   for (const d of [...dialogs.dialogStack]) dialogs.closeDialog({key: d.key}); }"""
    )
    tab.page.wait_for_function("() => document.querySelectorAll('.p-dialog-mask').length === 0", timeout=10_000)


def visible_dialogs(tab: Page) -> list[str]:
    """Text of every open dialog (a missing-node report appears as one)."""
    return tab.evaluate("() => Array.from(document.querySelectorAll('.p-dialog')).map(d => d.innerText)")
