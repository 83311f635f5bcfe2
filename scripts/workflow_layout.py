"""Lay an API-format graph out for the canvas: stages as labelled columns read left to right
(Models → Portrait → Driving → Motion → Edit → Render → Save), nodes ordered to cross few links,
every link running left to right, no two node rectangles overlapping at their rendered sizes.

Sizes follow the frontend's own arithmetic (LiteGraph `computeSize`, frontend 1.32.9): 20 px per
socket row, 24 px per widget, 14 px padding, a 30 px title bar above `pos`; the nodes that show a
picture (image and video loaders, on-node previews, Save Video's result) get room for it, so
nothing grows into a neighbour when the picture appears. Widths leave room for the title and for
each widget's label and value, so neither is cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STAGES = ("Models", "Portrait", "Driving", "Motion", "Edit", "Render", "Save")
STAGE_OF = {
    "LoadImage": "Portrait",
    "StyleHEAT_FaceAlign": "Portrait",
    "StyleHEAT_Invert": "Portrait",
    "LoadVideo": "Driving",
    "GetVideoComponents": "Driving",
    "StyleHEAT_VideoCrop": "Driving",
    "StyleHEAT_LoadAudio": "Driving",
    "StyleHEAT_3DMMExtract": "Motion",
    "StyleHEAT_VideoFlow": "Motion",
    "StyleHEAT_AudioFlow": "Motion",
    "StyleHEAT_AudioLipFlow": "Motion",
    "StyleHEAT_3DMMEdit": "Edit",
    "StyleHEAT_MotionControls": "Edit",
    "StyleHEAT_StyleDirection": "Edit",
    "StyleHEAT_DirectionFromPortraits": "Edit",
    "StyleHEAT_PreviewFrames": "Edit",
    "StyleHEAT_WarpFeatures": "Render",
    "StyleHEAT_Calibrate": "Render",
    "StyleHEAT_StyleGANDecode": "Render",
    "StyleHEAT_PasteBack": "Render",
    "StyleHEAT_RenderVideo": "Save",
    "CreateVideo": "Save",
    "SaveVideo": "Save",
    "SaveImage": "Save",
    "PreviewImage": "Save",
}
STAGE_COLORS = {
    "Models": "#3f3f5f",
    "Portrait": "#3f5f4f",
    "Driving": "#5f4f3f",
    "Motion": "#3f4f5f",
    "Edit": "#5f3f5f",
    "Render": "#5f3f3f",
    "Save": "#3f5f5f",
}
TITLE_HEIGHT, SLOT_HEIGHT, WIDGET_HEIGHT = 30, 20, 24
# Extra height for what a node shows under its widgets: (height, width the picture needs).
PICTURES = {
    "LoadImage": (240, 0),
    "LoadVideo": (330, 0),
    "SaveVideo": (500, 360),  # room for a portrait-shaped result video
    "StyleHEAT_RenderVideo": (500, 360),
    "StyleHEAT_FaceAlign": (290, 0),
    "StyleHEAT_Invert": (170, 0),
    "StyleHEAT_VideoCrop": (100, 0),
    "StyleHEAT_PreviewFrames": (150, 560),
}
UPLOAD_BUTTONS = {"LoadImage", "LoadVideo"}  # image_upload / video_upload add a button widget
# The video preview is as wide as the node and as tall as the video's aspect makes it: keep Load Video at the
# width it was measured at (394 px high with a square clip), whatever else shares its column.
FIXED_WIDTHS = {"LoadVideo": 320}
NOTE_WIDTH = 640
COLUMN_GAP, STAGE_GAP, ROW_GAP, GROUP_PAD, GROUP_TITLE = 40, 90, 40, 20, 46
MIN_WIDTH = 260


@dataclass
class Box:
    """A node's rectangle on the canvas: `pos` is the body's top-left (the title bar sits above it)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.y - TITLE_HEIGHT

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass
class Layout:
    """Where each node goes (by id), the stage groups ({title, bounding}) and the note's box."""

    boxes: dict[str, Box] = field(default_factory=dict)
    groups: list[dict] = field(default_factory=list)
    note: Box | None = None


def has_seed_control(name: str, spec: Any) -> bool:
    """Whether the frontend adds a 'control after generate' widget (and value) after this INT widget."""
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    return spec[0] == "INT" and options.get("control_after_generate", name in ("seed", "noise_seed"))


def _text_width(text: str, per_char: float) -> float:
    wide = sum(1 for c in text if c.isupper() or c in "mwMW%@")
    return per_char * len(text) + 2.5 * wide


def node_size(class_type: str, title: str, sockets: list[str], outputs: list[str], widgets: list[tuple[str, Any, Any]]) -> tuple[float, float]:
    """(width, height) of a node body as the frontend renders it, with room for its picture.

    `sockets` are the inputs drawn as sockets only, `widgets` the (name, spec, value) of the widget inputs."""
    rows = max(len(sockets), len(outputs), 1)
    count = len(widgets) + sum(has_seed_control(n, s) for n, s, _ in widgets) + (class_type in UPLOAD_BUTTONS)
    picture_height, picture_width = PICTURES.get(class_type, (0, 0))
    height = rows * SLOT_HEIGHT + count * WIDGET_HEIGHT + (14 if count else 6) + picture_height
    width = max(
        MIN_WIDTH,
        picture_width,
        _text_width(title, 7.6) + 60,
        max((_text_width(f"{n} {_value_text(v, s)}", 6.8) + 90 for n, s, v in widgets), default=0),
        max((_text_width(n, 6.8) for n in [*sockets, *outputs]), default=0) * 2 + 60,
    )
    return float(FIXED_WIDTHS.get(class_type, -(-width // 10) * 10)), float(height)


def _value_text(value: Any, spec: Any) -> str:
    if value is None or isinstance(value, list):
        value = spec[1].get("default", "") if len(spec) > 1 and isinstance(spec[1], dict) else ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def preferred_stage(class_type: str, has_inputs: bool) -> int:
    if class_type in STAGE_OF:
        return STAGES.index(STAGE_OF[class_type])
    if class_type.startswith("StyleHEAT_Load"):
        return STAGES.index("Models")
    return STAGES.index("Render" if has_inputs else "Driving")


def _sources(node: dict) -> list[str]:
    return [str(value[0]) for value in node["inputs"].values() if isinstance(value, list)]


def assign_columns(api: dict) -> dict[str, tuple[int, int]]:
    """(stage, column within the stage) of every node: a node's stage is its own or, if later, that of any source,
    and within a stage each node sits right of the same-stage nodes it reads from."""
    placed: dict[str, tuple[int, int]] = {}

    def place(node_id: str) -> tuple[int, int]:
        if node_id not in placed:
            sources = [place(s) for s in _sources(api[node_id])]
            stage = max([preferred_stage(api[node_id]["class_type"], bool(sources))] + [s for s, _ in sources])
            level = max([c + 1 for s, c in sources if s == stage], default=0)
            placed[node_id] = (stage, level)
        return placed[node_id]

    for node_id in api:
        place(node_id)
    return placed


def _crossings(order: dict[str, tuple[int, int]], rank: dict[str, float], edges: list[tuple[str, str]]) -> int:
    """Pairs of links whose vertical order swaps between where both are present (spans of columns)."""
    count = 0
    spans = [(order[a], order[b], rank[a], rank[b]) for a, b in edges]
    for i, (s1, t1, a1, b1) in enumerate(spans):
        for s2, t2, a2, b2 in spans[i + 1 :]:
            start, end = max(s1, s2), min(t1, t2)
            if start >= end:
                continue
            y1s, y1e = _at(s1, t1, a1, b1, start), _at(s1, t1, a1, b1, end)
            y2s, y2e = _at(s2, t2, a2, b2, start), _at(s2, t2, a2, b2, end)
            if (y1s - y2s) * (y1e - y2e) < 0:
                count += 1
    return count


def _at(s: tuple, t: tuple, a: float, b: float, x: tuple) -> float:
    span = _flat(t) - _flat(s)
    return a + (b - a) * (_flat(x) - _flat(s)) / span if span else a


def _flat(column: tuple[int, int]) -> float:
    return column[0] * 100 + column[1]


def order_columns(api: dict, columns: dict[str, tuple[int, int]], sweeps: int = 8) -> dict[tuple[int, int], list[str]]:
    """Nodes of each column top to bottom, by barycentre sweeps (the order with the fewest crossings wins)."""
    members: dict[tuple[int, int], list[str]] = {}
    for node_id in sorted(api, key=int):
        members.setdefault(columns[node_id], []).append(node_id)
    keys = sorted(members)
    edges = [(s, t) for t in api for s in _sources(api[t])]
    neighbours = {n: [] for n in api}
    for s, t in edges:
        neighbours[s].append(t)
        neighbours[t].append(s)

    def ranks(current: dict) -> dict[str, float]:
        return {n: float(i) / max(len(col) - 1, 1) for col in current.values() for i, n in enumerate(col)}

    best = {k: list(v) for k, v in members.items()}
    best_count = _crossings(columns, ranks(best), edges)
    current = {k: list(v) for k, v in best.items()}
    for sweep in range(sweeps):
        for key in keys if sweep % 2 == 0 else reversed(keys):
            rank = ranks(current)
            centre = {n: sum(rank[m] for m in neighbours[n]) / len(neighbours[n]) if neighbours[n] else rank[n] for n in current[key]}
            current[key] = sorted(current[key], key=lambda n: (centre[n], int(n)))
            count = _crossings(columns, ranks(current), edges)
            if count < best_count:
                best, best_count = {k: list(v) for k, v in current.items()}, count
    return best


def lay_out(api: dict, sizes: dict[str, tuple[float, float]], note_height: float) -> Layout:
    """Boxes for every node, one labelled group per stage, and a note above the first group."""
    columns = assign_columns(api)
    ordered = order_columns(api, columns)
    models = STAGES.index("Models")
    layout = Layout()
    top = note_height + TITLE_HEIGHT + 80 + GROUP_TITLE
    x, previous_stage = 0.0, None
    for key in sorted(ordered):
        stage = key[0]
        if previous_stage is not None:
            x += STAGE_GAP if stage != previous_stage else COLUMN_GAP
        previous_stage = stage
        width = max(sizes[n][0] for n in ordered[key])
        bottom = top - ROW_GAP - TITLE_HEIGHT
        for node_id in ordered[key]:
            above = [layout.boxes[s].y for s in _sources(api[node_id]) if s in layout.boxes and columns[s][0] != models]
            wanted = sum(above) / len(above) if above else top
            y = max(wanted, bottom + ROW_GAP + TITLE_HEIGHT)
            layout.boxes[node_id] = Box(x, y, *sizes[node_id])
            bottom = layout.boxes[node_id].bottom
        x += width
    _align_sources(api, ordered, columns, layout, models, top)
    for stage in sorted({c[0] for c in columns.values()}):
        boxes = [layout.boxes[n] for n, c in columns.items() if c[0] == stage]
        left, right = min(b.x for b in boxes) - GROUP_PAD, max(b.right for b in boxes) + GROUP_PAD
        upper, lower = top - TITLE_HEIGHT - GROUP_TITLE, max(b.bottom for b in boxes) + GROUP_PAD
        name = STAGES[stage]
        layout.groups.append({"title": name, "bounding": [left, upper, right - left, lower - upper], "color": STAGE_COLORS[name]})
    first = min(g["bounding"][0] for g in layout.groups)
    layout.note = Box(first, TITLE_HEIGHT, NOTE_WIDTH, note_height)
    return layout


def _align_sources(api: dict, ordered: dict, columns: dict, layout: Layout, models: int, top: float) -> None:
    """Put the model loaders level with the nodes they feed (they were stacked at the top first)."""
    for key in sorted(k for k in ordered if k[0] == models):
        bottom = top - ROW_GAP - TITLE_HEIGHT
        readers = {n: [layout.boxes[t].y for t in api if n in _sources(api[t])] for n in ordered[key]}
        for node_id in sorted(ordered[key], key=lambda n: (min(readers[n], default=top), int(n))):
            wanted = min(readers[node_id], default=top)
            box = layout.boxes[node_id]
            box.y = max(wanted, bottom + ROW_GAP + TITLE_HEIGHT)
            bottom = box.bottom
