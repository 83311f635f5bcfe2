"""Short test clips cut from the real media: the first frames of a video, with its sound, re-encoded."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from styleheat_core.preprocess.video_io import read_soundtrack


def cut_clip(source: Path, target: Path, frames: int, size: int | None = None) -> Path:
    """Write the first `frames` frames of `source` (resized to size², if given) and the matching audio as an mp4."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate)
        images = []
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="rgb24")
            images.append(image)
            if len(images) == frames:
                break
        seconds = frames / rate
    audio, sample_rate = None, None
    sound = read_soundtrack(source)
    if sound is not None:
        audio, sample_rate = sound[0][:, : int(seconds * sound[1])], sound[1]
    with av.open(str(target), "w") as out:
        video = out.add_stream("libx264", rate=rate)
        height, width = (size, size) if size else images[0].shape[:2]
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if audio is not None:
            track = out.add_stream("aac", rate=sample_rate)
            track.layout = "mono" if audio.shape[0] == 1 else "stereo"
        for image in images:
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if size:
                frame = frame.reformat(width=size, height=size)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if audio is not None:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio), format="fltp", layout=track.layout.name)
            frame.sample_rate = sample_rate
            out.mux(track.encode(frame))
            out.mux(track.encode())
    return target
