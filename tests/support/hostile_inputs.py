"""The files of the hostile-input suite: broken images, videos, audio and checkpoints, and the model folder that holds them.

Everything is written into a test's temporary folders: the server's input folder, a model folder of
links to the recipe checkpoints (links placed by the owner, which must keep working) plus hostile
checkpoints in sub-folders named so that they show up in the loaders' menus, and a marker path that
a crafted pickle would create if anything unpickled it.
"""

from __future__ import annotations

import struct
import wave
import zlib
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import soundfile
from PIL import Image

from .hostile_files import code_running_pickle, truncated_copy

RATE = 16000


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb_png(path: Path, side: int = 100_000) -> Path:
    """A 100 kB PNG whose header claims side x side pixels (30 GB decoded)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * 100_000)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b""))
    return path


def write_images(folder: Path, portrait: np.ndarray) -> None:
    """Images for LoadImage -> Face Align: portrait.png (valid) and the hostile ones."""
    Image.fromarray(portrait).save(folder / "portrait.png")
    (folder / "not_an_image.png").write_text("this is text, not a PNG\n")
    Image.new("RGB", (1, 1), (200, 150, 120)).save(folder / "one_pixel.png")
    Image.fromarray(portrait).convert("RGBA").save(folder / "rgba.png")
    cv2.imwrite(str(folder / "sixteen_bit.png"), cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
    decompression_bomb_png(folder / "huge.png")
    Image.new("RGB", (256, 256), (128, 128, 128)).save(folder / "blank.png")
    truncated_copy((folder / "portrait.png").read_bytes(), folder / "truncated.png", 0.3)
    frames = [Image.fromarray(portrait), Image.fromarray(portrait[:, ::-1].copy())]
    frames[0].save(folder / "two_frames.gif", save_all=True, append_images=frames[1:])


def write_video(path: Path, frames: list[np.ndarray], audio: np.ndarray | None = None, rate: int = 25) -> Path:
    with av.open(str(path), "w") as out:
        video = None
        if frames is not None:
            video = out.add_stream("libx264", rate=Fraction(rate))
            video.height, video.width = (frames[0].shape[:2] if frames else (64, 64))
            video.pix_fmt = "yuv420p"
        track = out.add_stream("aac", rate=RATE) if audio is not None else None
        if track is not None:
            track.layout = "mono"
        for image in frames or []:
            out.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        if video is not None:
            out.mux(video.encode())
        if track is not None:
            frame = av.AudioFrame.from_ndarray(audio[None].astype(np.float32), format="fltp", layout="mono")
            frame.sample_rate = RATE
            out.mux(track.encode(frame))
            out.mux(track.encode())
    return path


def write_videos(folder: Path, driving: Path) -> None:
    """Videos for LoadVideo -> 3DMM Extract: an audio-only mp4, a video stream without frames (beside sound), random bytes, a cut-off file."""
    write_video(folder / "audio_only.mp4", None, np.zeros(RATE // 2, dtype=np.float32))
    write_video(folder / "zero_frames.mkv", [], np.zeros(RATE // 2, dtype=np.float32))  # Matroska keeps a stream without packets
    (folder / "corrupt.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    truncated_copy(driving.read_bytes(), folder / "truncated.mp4", 0.5)


def _huge_header_wav(path: Path, samples: np.ndarray) -> Path:
    """A 16-bit wav whose RIFF and data sizes claim about 4 GB; the file holds 0.1 s."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    data = bytearray(path.read_bytes())
    data[4:8] = struct.pack("<I", 0xFFFFFFF0)
    data[40:44] = struct.pack("<I", 0xFFFFFFE0)
    path.write_bytes(bytes(data))
    return path


def write_audio(folder: Path, speech: np.ndarray) -> None:
    """Audio for Load Audio -> Audio Flow: speech.wav (0.12 s, 3 frames at 25 fps) and the hostile ones."""
    clip = speech[: RATE * 3 // 25]
    soundfile.write(folder / "speech.wav", clip, RATE)
    soundfile.write(folder / "empty.wav", np.zeros(0, dtype=np.float32), RATE)
    soundfile.write(folder / "nan.wav", np.where(np.arange(clip.size) % 100 == 0, np.nan, clip).astype(np.float32), RATE, subtype="FLOAT")
    soundfile.write(folder / "inf.wav", np.where(np.arange(clip.size) == 7, np.inf, clip).astype(np.float32), RATE, subtype="FLOAT")
    soundfile.write(folder / "rate_8k.wav", clip[::2], RATE // 2)
    soundfile.write(folder / "rate_96k.wav", np.repeat(clip, 6), RATE * 6)
    soundfile.write(folder / "one_sample.wav", clip[:1], RATE)
    soundfile.write(folder / "eight_channels.wav", np.repeat(clip[:, None], 8, axis=1), RATE)
    _huge_header_wav(folder / "huge_header.wav", clip)
    (folder / "not_audio.wav").write_text("RIFF? no: plain text\n")


HOSTILE = "hostile"


def hostile_model_folder(folder: Path, recipe: Path, marker: Path, outside: Path) -> None:
    """Links to every recipe checkpoint, hostile checkpoints under hostile/<kind>/, a direction linked from outside.

    hostile/empty, hostile/truncated, hostile/pickle and hostile/wrong hold files named as official
    files (so the loaders' menus list them); hostile/pickle_direction.npy and nan_direction.npy are
    direction files; links/outside.npy is a link to a direction outside every folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for entry in recipe.iterdir():
        (folder / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    hostile = folder / HOSTILE
    for kind in ("empty", "truncated", "pickle", "wrong"):
        (hostile / kind).mkdir(parents=True)
    (hostile / "empty" / "StyleGAN_e4e.pth").touch()
    (hostile / "empty" / "SadTalker_V0.0.2_256.safetensors").touch()
    truncated_copy((recipe / "intuitive_edit" / "expression.pth").read_bytes(), hostile / "truncated" / "expression.pth", 0.6)
    for name in ("StyleGAN_e4e.pth", "expression.pth", "audio_warper.pt"):
        code_running_pickle(hostile / "pickle" / name, marker)
    code_running_pickle(hostile / "pickle_direction.npy", marker)
    (hostile / "wrong" / "StyleGAN_e4e.pth").symlink_to(recipe / "hfgi.pth")
    np.save(hostile / "nan_direction.npy", np.full(512, np.nan, dtype=np.float32))
    outside.parent.mkdir(parents=True, exist_ok=True)
    np.save(outside, np.full(512, 0.01, dtype=np.float32))
    (folder / "links").mkdir()
    (folder / "links" / "outside.npy").symlink_to(outside)
