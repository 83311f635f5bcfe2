"""ComfyUI workflow formats: build UI-format graphs (what users load) and turn them into API format (what /prompt runs).

A graph is described once as API-format nodes; `to_ui` lays it out for the frontend using
/object_info, `to_api` reads a UI graph back. The example workflows are written with the first and
checked with the second, so each UI file and its API twin cannot drift apart.
"""

from __future__ import annotations

from typing import Any

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


def _inputs(info: dict) -> list[tuple[str, Any]]:
    """(name, spec) of every input of a node class, in the order the frontend shows them."""
    declared = {**info["input"].get("required", {}), **info["input"].get("optional", {})}
    order = info.get("input_order", {})
    names = order.get("required", []) + order.get("optional", []) if order else list(declared)
    return [(name, declared[name]) for name in names if name in declared]


def is_widget(spec: Any) -> bool:
    kind = spec[0]
    return isinstance(kind, list) or kind in WIDGET_TYPES


def to_ui(api: dict, object_info: dict) -> dict:
    """A UI-format workflow (frontend schema 0.4) for an API-format graph."""
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
    for order, (node_id, node) in enumerate(api.items()):
        info = object_info[node["class_type"]]
        inputs, widgets = [], []
        for name, spec in _inputs(info):
            value = node["inputs"].get(name)
            link = next((l[0] for l in links if l[3] == int(node_id) and l[4] == name), None)
            slot = {"name": name, "type": "COMBO" if isinstance(spec[0], list) else spec[0], "link": link}
            if is_widget(spec):
                default = spec[1].get("default") if len(spec) > 1 else None
                widgets.append(default if isinstance(value, list) or name not in node["inputs"] else value)
                if link is None:
                    continue
                slot["widget"] = {"name": name}
            inputs.append(slot)
        outputs = [
            {"name": out_name, "type": kind, "links": outgoing.get((node_id, slot), []), "slot_index": slot}
            for slot, (kind, out_name) in enumerate(zip(info["output"], info["output_name"]))
        ]
        nodes.append(
            {
                "id": int(node_id),
                "type": node["class_type"],
                "pos": [40 + 360 * (order % 5), 60 + 420 * (order // 5)],
                "size": [320, 60 + 26 * (len(inputs) + len(widgets))],
                "flags": {},
                "order": order,
                "mode": 0,
                "inputs": inputs,
                "outputs": outputs,
                "properties": {"Node name for S&R": node["class_type"]},
                "widgets_values": widgets,
                "title": node.get("_meta", {}).get("title", info.get("display_name", node["class_type"])),
            }
        )
    ui_links = [[l[0], l[1], l[2], l[3], _slot_of(nodes, l[3], l[4]), l[5]] for l in links]
    return {
        "last_node_id": max(int(i) for i in api),
        "last_link_id": len(links),
        "nodes": nodes,
        "links": ui_links,
        "groups": [],
        "config": {},
        "extra": {},
        "version": 0.4,
    }


def _slot_of(nodes: list[dict], node_id: int, name: str) -> int:
    node = next(n for n in nodes if n["id"] == node_id)
    return next(i for i, slot in enumerate(node["inputs"]) if slot["name"] == name)


def to_api(ui: dict, object_info: dict) -> dict:
    """The API-format graph a UI-format workflow runs (what the frontend's 'Export (API)' writes)."""
    links = {l[0]: l for l in ui["links"]}
    api = {}
    for node in ui["nodes"]:
        if node.get("mode", 0) != 0:
            continue
        info = object_info[node["type"]]
        linked = {slot["name"]: links[slot["link"]] for slot in node.get("inputs", []) if slot.get("link") is not None}
        widgets = iter(node.get("widgets_values", []))
        inputs: dict[str, Any] = {}
        for name, spec in _inputs(info):
            value = next(widgets) if is_widget(spec) else None
            if name in linked:
                inputs[name] = [str(linked[name][1]), linked[name][2]]
            elif is_widget(spec):
                inputs[name] = value
        api[str(node["id"])] = {"class_type": node["type"], "inputs": inputs, "_meta": {"title": node.get("title", info["display_name"])}}
    return api
