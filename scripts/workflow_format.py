"""ComfyUI workflow formats: build UI-format graphs (what users load) and turn them into API format (what /prompt runs).

A graph is described once as API-format nodes; `to_ui` lays it out for the frontend using
/object_info, `to_api` reads a UI graph back. The example workflows are written with the first and
checked with the second, so each UI file and its API twin cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from .workflow_layout import NOTE_WIDTH, has_seed_control, lay_out, node_size

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
SEED_CONTROL = "fixed"  # 'control after generate' of seed widgets: pinned, so a shared workflow reproduces
NOTE = "Note"
CANVAS_ONLY = {NOTE, "MarkdownNote"}


def _inputs(info: dict) -> list[tuple[str, Any]]:
    """(name, spec) of every input of a node class, in the order the frontend shows them."""
    declared = {**info["input"].get("required", {}), **info["input"].get("optional", {})}
    order = info.get("input_order", {})
    names = order.get("required", []) + order.get("optional", []) if order else list(declared)
    return [(name, declared[name]) for name in names if name in declared]


def is_widget(spec: Any) -> bool:
    kind = spec[0]
    return isinstance(kind, list) or kind in WIDGET_TYPES


def _size(node: dict, object_info: dict) -> tuple[float, float]:
    info = object_info[node["class_type"]]
    sockets = [name for name, spec in _inputs(info) if not is_widget(spec)]
    widgets = [(name, spec, node["inputs"].get(name)) for name, spec in _inputs(info) if is_widget(spec)]
    return node_size(node["class_type"], _title(node, object_info), sockets, info["output_name"], widgets)


def to_ui(api: dict, object_info: dict, note: str = "") -> dict:
    """A UI-format workflow (frontend schema 0.4) for an API-format graph, laid out by stage (see workflow_layout)."""
    nodes, links = [], []
    outgoing: dict[tuple[str, int], list[int]] = {}
    for target, node in api.items():
        for name, value in node["inputs"].items():
            if isinstance(value, list):
                link_id = len(links) + 1
                source, slot = str(value[0]), int(value[1])
                kind = object_info[api[source]["class_type"]]["output"][slot]
                links.append([link_id, int(source), slot, int(target), name, kind])
                outgoing.setdefault((source, slot), []).append(link_id)
    sizes = {node_id: _size(node, object_info) for node_id, node in api.items()}
    wrapped = sum(-(-max(len(line), 1) * 7 // (NOTE_WIDTH - 30)) for line in note.splitlines())  # ~7 px a character
    layout = lay_out(api, sizes, note_height=max(80.0, 16.0 * wrapped + 40))
    for order, (node_id, node) in enumerate(api.items()):
        info = object_info[node["class_type"]]
        inputs, widgets = [], []
        for name, spec in _inputs(info):
            value = node["inputs"].get(name)
            link = next((link_row[0] for link_row in links if link_row[3] == int(node_id) and link_row[4] == name), None)
            slot = {"name": name, "type": "COMBO" if isinstance(spec[0], list) else spec[0], "link": link}
            if is_widget(spec):
                default = spec[1].get("default") if len(spec) > 1 else None
                widgets.append(default if isinstance(value, list) or name not in node["inputs"] else value)
                if has_seed_control(name, spec):
                    widgets.append(SEED_CONTROL)
                if link is None:
                    continue
                slot["widget"] = {"name": name}
            inputs.append(slot)
        outputs = [
            {"name": out_name, "type": kind, "links": outgoing.get((node_id, slot), []), "slot_index": slot}
            for slot, (kind, out_name) in enumerate(zip(info["output"], info["output_name"]))
        ]
        box = layout.boxes[node_id]
        nodes.append(
            {
                "id": int(node_id),
                "type": node["class_type"],
                "pos": [box.x, box.y],
                "size": [box.width, box.height],
                "flags": {},
                "order": order,
                "mode": 0,
                "inputs": inputs,
                "outputs": outputs,
                "properties": {"Node name for S&R": node["class_type"]},
                "widgets_values": widgets,
                "title": _title(node, object_info),
            }
        )
    last_id = max(int(i) for i in api)
    if note:
        nodes.append(_note_node(last_id + 1, len(nodes), layout.note, note))
    ui_links = [[row[0], row[1], row[2], row[3], _slot_of(nodes, row[3], row[4]), row[5]] for row in links]
    groups = [{"id": i + 1, "title": g["title"], "bounding": g["bounding"], "color": g["color"], "font_size": 24, "flags": {}} for i, g in enumerate(layout.groups)]
    return {
        "last_node_id": last_id + (1 if note else 0),
        "last_link_id": len(links),
        "nodes": nodes,
        "links": ui_links,
        "groups": groups,
        "config": {},
        "extra": {"ds": _view(nodes, groups)},
        "version": 0.4,
    }


def _title(node: dict, object_info: dict) -> str:
    info = object_info[node["class_type"]]
    return node.get("_meta", {}).get("title", info.get("display_name", node["class_type"]))


def _note_node(node_id: int, order: int, box, text: str) -> dict:
    """The frontend's Note node (a canvas-only node: it never reaches the server)."""
    return {
        "id": node_id, "type": NOTE, "pos": [box.x, box.y], "size": [box.width, box.height], "flags": {}, "order": order, "mode": 0,
        "inputs": [], "outputs": [], "properties": {}, "widgets_values": [text], "title": "How to use this workflow", "color": "#443322", "bgcolor": "#665533",
    }


def _view(nodes: list[dict], groups: list[dict]) -> dict:
    """The canvas offset and zoom a workflow opens with: the whole graph in a 1600x900 window, or, for a long graph,
    its left part (the note and the first stages) at half size, where titles and widgets are still drawn."""
    left = min([n["pos"][0] for n in nodes] + [g["bounding"][0] for g in groups])
    top = min([n["pos"][1] - 30 for n in nodes] + [g["bounding"][1] for g in groups])
    right = max([n["pos"][0] + n["size"][0] for n in nodes] + [g["bounding"][0] + g["bounding"][2] for g in groups])
    bottom = max([n["pos"][1] + n["size"][1] for n in nodes] + [g["bounding"][1] + g["bounding"][3] for g in groups])
    scale = round(max(0.5, min(1.0, 1500 / (right - left), 820 / (bottom - top))), 3)
    return {"scale": scale, "offset": [round(60 / scale - left, 1), round(50 / scale - top, 1)]}


def _slot_of(nodes: list[dict], node_id: int, name: str) -> int:
    node = next(n for n in nodes if n["id"] == node_id)
    return next(i for i, slot in enumerate(node["inputs"]) if slot["name"] == name)


def to_api(ui: dict, object_info: dict) -> dict:
    """The API-format graph a UI-format workflow runs (what the frontend's 'Export (API)' writes)."""
    links = {row[0]: row for row in ui["links"]}
    api = {}
    for node in ui["nodes"]:
        if node.get("mode", 0) != 0 or node["type"] in CANVAS_ONLY:
            continue
        info = object_info[node["type"]]
        linked = {slot["name"]: links[slot["link"]] for slot in node.get("inputs", []) if slot.get("link") is not None}
        widgets = iter(node.get("widgets_values", []))
        inputs: dict[str, Any] = {}
        for name, spec in _inputs(info):
            value = next(widgets) if is_widget(spec) else None
            if has_seed_control(name, spec):
                next(widgets)
            if name in linked:
                inputs[name] = [str(linked[name][1]), linked[name][2]]
            elif is_widget(spec):
                inputs[name] = value
        api[str(node["id"])] = {"class_type": node["type"], "inputs": inputs, "_meta": {"title": node.get("title", info["display_name"])}}
    return api
