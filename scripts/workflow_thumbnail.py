"""A Templates-dialog thumbnail (<title>.jpg) drawn from a laid-out UI workflow: its stage groups, nodes and links,
with the workflow's title, so the card shows what the graph is before it is opened."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

SIZE = (640, 480)
BACKGROUND = (30, 30, 30)
NODE, NODE_TITLE, TEXT = (53, 53, 53), (34, 34, 34), (220, 220, 220)
LINK_COLORS = {"IMAGE": (100, 181, 246), "AUDIO": (234, 128, 252), "FLOAT": (170, 238, 136), "VIDEO": (255, 183, 77)}
OTHER_LINK = (160, 160, 160)


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def _bezier(start: tuple[float, float], end: tuple[float, float], steps: int = 24) -> list[tuple[float, float]]:
    bend = max(20.0, (end[0] - start[0]) * 0.5)
    c1, c2 = (start[0] + bend, start[1]), (end[0] - bend, end[1])
    points = []
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        points.append(tuple(u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * d for a, b, c, d in zip(start, c1, c2, end)))
    return points


def _stage_chips(draw: ImageDraw.ImageDraw, groups: list[dict], top: float) -> None:
    """The stages, left to right, as coloured chips in rows (the graph's reading order, large enough to read on a card)."""
    font = ImageFont.load_default(size=22)
    x, y = 16.0, top
    for index, group in enumerate(groups):
        width = draw.textlength(group["title"], font=font) + 20
        if x + width > SIZE[0] - 16:
            x, y = 16.0, y + 42
        draw.rounded_rectangle((x, y, x + width, y + 34), radius=8, fill=_rgb(group["color"]))
        draw.text((x + 10, y + 5), group["title"], fill=TEXT, font=font)
        x += width + 6
        if index < len(groups) - 1:  # an arrow to the next stage
            draw.polygon([(x, y + 9), (x + 12, y + 17), (x, y + 25)], fill=TEXT)
            x += 18


def thumbnail(ui: dict, title: str) -> bytes:
    """JPEG bytes of the workflow drawn to fit SIZE, title on top."""
    nodes = {n["id"]: n for n in ui["nodes"]}
    boxes = [(n["pos"][0], n["pos"][1] - 30, n["pos"][0] + n["size"][0], n["pos"][1] + n["size"][1]) for n in ui["nodes"]]
    boxes += [(g["bounding"][0], g["bounding"][1], g["bounding"][0] + g["bounding"][2], g["bounding"][1] + g["bounding"][3]) for g in ui["groups"]]
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    header, footer = 56, 120
    scale = min((SIZE[0] - 24) / (right - left), (SIZE[1] - header - footer) / (bottom - top))
    offset = ((SIZE[0] - (right - left) * scale) / 2, header + (SIZE[1] - header - footer - (bottom - top) * scale) / 2)

    def at(x: float, y: float) -> tuple[float, float]:
        return (offset[0] + (x - left) * scale, offset[1] + (y - top) * scale)

    picture = Image.new("RGB", SIZE, BACKGROUND)
    draw = ImageDraw.Draw(picture, "RGBA")
    label = ImageFont.load_default(size=max(9, round(26 * scale)))
    for group in ui["groups"]:
        x, y, w, h = group["bounding"]
        draw.rectangle((*at(x, y), *at(x + w, y + h)), fill=(*_rgb(group["color"]), 150), outline=_rgb(group["color"]))
        draw.text(at(x + 10, y + 8), group["title"], fill=TEXT, font=label)
    for link_id, source, slot, target, target_slot, kind in ui["links"]:
        a, b = nodes[source], nodes[target]
        start = at(a["pos"][0] + a["size"][0], a["pos"][1] + 10 + 20 * slot)
        end = at(b["pos"][0], b["pos"][1] + 10 + 20 * target_slot)
        draw.line(_bezier(start, end), fill=LINK_COLORS.get(kind, OTHER_LINK), width=2)
    for node in ui["nodes"]:
        x, y = node["pos"]
        w, h = node["size"]
        fill = _rgb(node["bgcolor"]) if "bgcolor" in node else NODE
        draw.rectangle((*at(x, y - 30), *at(x + w, y + h)), fill=fill, outline=(80, 80, 80))
        draw.rectangle((*at(x, y - 30), *at(x + w, y)), fill=NODE_TITLE)
    draw.text((16, 12), title, fill=(255, 255, 255), font=ImageFont.load_default(size=28))
    _stage_chips(draw, ui["groups"], SIZE[1] - footer + 20)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=88)
    return out.getvalue()
