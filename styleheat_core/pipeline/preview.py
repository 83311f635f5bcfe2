"""Previews: which frames to render for a quick look at an edit, and the images shown on a node.

A preview renders a few chosen frames of a driven video instead of all of them, so that an edit
costs a few frames. Pictures are composed here (a strip of frames, two images side by side, a
warning banner); the node layer only saves them where the canvas can show them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from PIL import Image, ImageDraw, ImageFont

from ..models.stylegan2 import Generator
from .decode import WarpedFeatures
from .image_format import image_to_uint8, network_to_image, uint8_to_image

PREVIEW_MODES = ("strip", "frame")
STRIP_FRAMES = (2, 8)  # allowed number of frames in a strip


@dataclass(frozen=True)
class FrameChoice:
    """The frame indices to render and, when the request had to be changed, a warning saying how."""

    frames: tuple[int, ...]
    warning: str | None = None


def choose_frames(num_frames: int, mode: str, frame: int = 0, count: int = 4) -> FrameChoice:
    """'strip': `count` frames spread evenly from the first to the last; 'frame': that one frame, clamped into the clip."""
    if num_frames < 1:
        raise ValueError(f"the clip has no frames to preview (num_frames = {num_frames})")
    if mode == "strip":
        low, high = STRIP_FRAMES
        if not low <= count <= high:
            raise ValueError(f"a preview strip has {low} to {high} frames; got count = {count}")
        spread = np.linspace(0, num_frames - 1, min(count, num_frames)).round().astype(int)
        return FrameChoice(tuple(dict.fromkeys(int(i) for i in spread)))
    if mode == "frame":
        clamped = min(max(int(frame), 0), num_frames - 1)
        if clamped == frame:
            return FrameChoice((clamped,))
        return FrameChoice((clamped,), f"frame {frame} is outside the {num_frames}-frame clip (0-{num_frames - 1}); showing frame {clamped}")
    raise ValueError(f"unknown preview mode '{mode}'; choose one of {PREVIEW_MODES}")


def render_preview(generator: Generator, features: WarpedFeatures, choice: FrameChoice, size: int) -> torch.Tensor:
    """The chosen frames as an IMAGE batch (B, size, size, 3), rendered exactly as Decode renders them."""
    return network_to_image(features.frames(generator, list(choice.frames)), size)


def resize_height(images: torch.Tensor, height: int) -> torch.Tensor:
    """IMAGE batch resized (area) to `height` pixels high, keeping the aspect ratio."""
    if images.shape[1] == height:
        return images
    width = max(1, round(images.shape[2] * height / images.shape[1]))
    resized = F.interpolate(rearrange(images, "b h w c -> b c h w"), size=(height, width), mode="area")
    return rearrange(resized, "b c h w -> b h w c")


def side_by_side(images: list[torch.Tensor], height: int = 256, gap: int = 4) -> torch.Tensor:
    """One IMAGE (1, height, W, 3): the first image of each batch, scaled to one height, left to right."""
    tiles = [resize_height(image[:1, ..., :3].float(), height)[0] for image in images]
    spacer = torch.ones((height, gap, 3))
    pieces = [piece for tile in tiles for piece in (tile, spacer)][:-1]
    return torch.cat(pieces, dim=1)[None]


def strip(frames: torch.Tensor, labels: list[str], height: int = 256, gap: int = 4) -> torch.Tensor:
    """One IMAGE (1, height, W, 3): the frames left to right, each labelled in its corner."""
    if len(labels) != frames.shape[0]:
        raise ValueError(f"{frames.shape[0]} frames need {frames.shape[0]} labels; got {len(labels)}")
    labelled = [label_image(frame[None], text) for frame, text in zip(resize_height(frames, height), labels)]
    return side_by_side(labelled, height, gap)


def spread_sample(frames: torch.Tensor, count: int = 4) -> tuple[torch.Tensor, list[int]]:
    """At most `count` frames of a batch, spread from the first to the last, and their indices."""
    indices = list(choose_frames(frames.shape[0], "strip", count=min(max(count, STRIP_FRAMES[0]), STRIP_FRAMES[1])).frames)
    return frames[indices], indices


def _draw(image: torch.Tensor, paint) -> torch.Tensor:
    picture = Image.fromarray(image_to_uint8(image[:1])[0])
    paint(ImageDraw.Draw(picture), picture.size, ImageFont.load_default())
    return uint8_to_image(np.array(picture)[None])


def label_image(image: torch.Tensor, text: str) -> torch.Tensor:
    """The first image of a batch with `text` on a dark box in its top-left corner."""

    def paint(draw: ImageDraw.ImageDraw, size, font) -> None:
        *_, right, bottom = draw.textbbox((4, 2), text, font=font)
        draw.rectangle((0, 0, right + 4, bottom + 3), fill=(0, 0, 0))
        draw.text((4, 2), text, fill=(255, 255, 255), font=font)

    return _draw(image, paint)


def warning_banner(image: torch.Tensor, text: str) -> torch.Tensor:
    """The first image of a batch with `text` in a yellow banner along its bottom edge (wrapped to the width)."""

    def paint(draw: ImageDraw.ImageDraw, size, font) -> None:
        width, height = size
        lines, line = [], ""
        for word in text.split():
            candidate = f"{line} {word}".strip()
            if line and draw.textlength(candidate, font=font) > width - 8:
                lines.append(line)
                candidate = word
            line = candidate
        lines.append(line)
        line_height = draw.textbbox((0, 0), "Ag", font=font)[3] + 3
        top = height - line_height * len(lines) - 6
        draw.rectangle((0, top, width, height), fill=(250, 204, 21))
        for number, words in enumerate(lines):
            draw.text((4, top + 3 + number * line_height), words, fill=(0, 0, 0), font=font)

    return _draw(image, paint)
