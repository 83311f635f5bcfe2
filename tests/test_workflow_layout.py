"""The layout engine (scripts/workflow_layout.py) and the laid-out example workflows, without a server.
The same properties are checked on the rendered canvas in tests/test_canvas_browser.py."""

import itertools
import json

import pytest
from PIL import Image

from scripts.build_workflows import GRAPHS, WORKFLOWS, api_path, title, ui_path
from scripts.workflow_format import SEED_CONTROL, to_api, to_ui
from scripts.workflow_layout import STAGES, TITLE_HEIGHT, assign_columns, lay_out, node_size, order_columns
from scripts.workflow_thumbnail import SIZE

NAMES = sorted(GRAPHS)


def _ui(name: str) -> dict:
    return json.loads(ui_path(name).read_text())


def _rect(node: dict) -> tuple[float, float, float, float]:
    x, y = node["pos"]
    w, h = node["size"]
    return x, y - TITLE_HEIGHT, x + w, y + h


def _info(outputs: list[str], **inputs) -> dict:
    return {"input": {"required": inputs}, "input_order": {"required": list(inputs)}, "output": outputs, "output_name": [o.lower() for o in outputs], "display_name": "x"}


def test_every_workflow_has_its_ui_file_thumbnail_and_api_twin_and_nothing_stale():
    expected = {ui_path(n).name for n in NAMES} | {ui_path(n).with_suffix(".jpg").name for n in NAMES} | {"api"}
    assert {p.name for p in WORKFLOWS.iterdir()} == expected
    assert {p.name for p in (WORKFLOWS / "api").iterdir()} == {api_path(n).name for n in NAMES}
    for name in NAMES:
        with Image.open(ui_path(name).with_suffix(".jpg")) as thumbnail:
            assert (thumbnail.format, thumbnail.size) == ("JPEG", SIZE)
    assert title("video_reenactment") == "Video-driven talking face" and title("new_graph") == "New graph"


@pytest.mark.parametrize("name", NAMES)
def test_nodes_do_not_overlap_and_links_run_left_to_right(name):
    ui = _ui(name)
    rects = {n["id"]: _rect(n) for n in ui["nodes"]}
    ids = sorted(rects)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            ra, rb = rects[a], rects[b]
            assert not (ra[0] < rb[2] and rb[0] < ra[2] and ra[1] < rb[3] and rb[1] < ra[3]), (a, b)
    for _, source, _, target, _, _ in ui["links"]:
        assert rects[target][0] > rects[source][2], (source, target)


@pytest.mark.parametrize("name", NAMES)
def test_stages_are_labelled_groups_in_order_holding_their_nodes_and_a_note_explains_the_graph(name):
    ui = _ui(name)
    groups = ui["groups"]
    titles = [g["title"] for g in groups]
    assert titles == [s for s in STAGES if s in titles] and {"Models", "Portrait", "Render", "Save"} <= set(titles)
    lefts = [g["bounding"][0] for g in groups]
    assert lefts == sorted(lefts)
    for a, b in itertools.pairwise(groups):
        assert a["bounding"][0] + a["bounding"][2] < b["bounding"][0]  # groups side by side, never overlapping
    (note,) = [n for n in ui["nodes"] if n["type"] == "Note"]
    assert "Run" in note["widgets_values"][0] and "Preview Frames" in note["widgets_values"][0]
    for node in ui["nodes"]:
        if node is note:
            continue
        x0, y0, x1, y1 = _rect(node)
        inside = [g["title"] for g in groups if g["bounding"][0] <= x0 and x1 <= g["bounding"][0] + g["bounding"][2] and g["bounding"][1] <= y0 and y1 <= g["bounding"][1] + g["bounding"][3]]
        assert len(inside) == 1, (node["title"], inside)


def test_seeds_are_pinned_to_fixed_and_read_back_as_the_seed():
    ui = _ui("audio_driven")
    (flow,) = [n for n in ui["nodes"] if n["type"] == "StyleHEAT_AudioFlow"]
    seed_at = flow["widgets_values"].index(0, 3)  # fps, pose_style, still, blink, then seed
    assert flow["widgets_values"][seed_at + 1] == SEED_CONTROL == "fixed"


def test_a_node_fed_by_a_later_stage_moves_into_that_stage_and_each_stage_splits_into_columns():
    api = {
        "1": {"class_type": "StyleHEAT_LoadMotionModels", "inputs": {}},
        "2": {"class_type": "StyleHEAT_3DMMExtract", "inputs": {}},
        "3": {"class_type": "StyleHEAT_3DMMEdit", "inputs": {"coefficients": ["2", 0]}},
        "4": {"class_type": "StyleHEAT_VideoFlow", "inputs": {"motion_models": ["1", 0], "coefficients": ["3", 0]}},
        "5": {"class_type": "StyleHEAT_WarpFeatures", "inputs": {"flow": ["4", 0]}},
    }
    columns = assign_columns(api)
    edit = STAGES.index("Edit")
    assert columns == {"1": (0, 0), "2": (STAGES.index("Motion"), 0), "3": (edit, 0), "4": (edit, 1), "5": (STAGES.index("Render"), 0)}


def test_barycentre_ordering_removes_crossings_that_id_order_makes():
    # Two sources and two readers wired crosswise: in id order the links cross, reordered they do not.
    api = {
        "1": {"class_type": "LoadImage", "inputs": {}},
        "2": {"class_type": "LoadVideo", "inputs": {}},
        "3": {"class_type": "StyleHEAT_PasteBack", "inputs": {"original": ["2", 0]}},
        "4": {"class_type": "StyleHEAT_PasteBack", "inputs": {"original": ["1", 0]}},
    }
    columns = {"1": (1, 0), "2": (1, 0), "3": (5, 0), "4": (5, 0)}
    ordered = order_columns(api, columns)
    first, second = ordered[(1, 0)], ordered[(5, 0)]
    reader_of = {"1": "4", "2": "3"}
    assert [reader_of[s] for s in first] == second


def test_sizes_follow_the_frontend_and_leave_room_for_titles_and_pictures():
    _, height = node_size("StyleHEAT_Invert", "Invert", ["stylegan", "encoder", "portrait", "refiner"], ["latent", "reconstruction"], [("refine_steps", ["INT", {}], 0)] * 3)
    assert height == 4 * 20 + 3 * 24 + 14 + 170  # measured computeSize 166 without the preview
    long_title = node_size("X", "A very long node title that needs room on the canvas", [], ["out"], [])[0]
    assert long_title > 400
    assert node_size("LoadVideo", "Driving video", [], ["VIDEO"], [("file", [["a.mp4"], {}], "a.mp4")]) == (320.0, 20 + 2 * 24 + 14 + 330)


def test_ui_and_api_forms_round_trip_with_the_note_and_the_seed_control():
    info = {
        "Src": _info(["IMAGE"], seed=["INT", {"default": 0}], mode=[["a", "b"], {"default": "a"}]),
        "Dst": _info([], image=["IMAGE", {}], strength=["FLOAT", {"default": 1.0}]),
    }
    api = {
        "1": {"class_type": "Src", "inputs": {"seed": 7, "mode": "b"}, "_meta": {"title": "Source"}},
        "2": {"class_type": "Dst", "inputs": {"image": ["1", 0], "strength": 0.5}, "_meta": {"title": "Target"}},
    }
    ui = to_ui(api, info, note="hello")
    assert [n["type"] for n in ui["nodes"]] == ["Src", "Dst", "Note"]
    assert ui["nodes"][0]["widgets_values"] == [7, "fixed", "b"]
    assert to_api(ui, info) == api
    layout = lay_out(api, {"1": (300.0, 100.0), "2": (300.0, 100.0)}, note_height=80)
    assert layout.boxes["2"].x > layout.boxes["1"].right and layout.note.bottom < min(g["bounding"][1] for g in layout.groups)
