"""Joining video segments without re-encoding (for renders split over several processes).

Each segment is a video-only file written by `VideoWriter` with the same codec, size and frame rate,
starting on a keyframe. Their packets are copied in order into one file, their timestamps shifted by
the frames before them, and the soundtrack is encoded alongside (trimmed or padded to the total).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Mapping, Sequence

import av

from .sound import SoundSource
from .video_writer import SoundMuxer, discard_output, finish_output, frame_rate, open_output


def join_segments(
    segments: Sequence[str | Path], path: str | Path, fps: float, sound: SoundSource | None = None, metadata: Mapping[str, str] | None = None
) -> Path:
    """Copy the segments' packets, in order, into `path` (through its temporary name) and mux the sound."""
    path, rate = Path(path), frame_rate(fps)
    if not segments:
        raise ValueError("no segments to join")
    missing = [str(s) for s in segments if not Path(s).is_file()]
    if missing:
        raise FileNotFoundError(f"video segments missing: {', '.join(missing)}; every process must write its segment where the first process can read it")
    container = open_output(path, metadata)
    try:
        with av.open(str(segments[0])) as first:
            stream = container.add_stream_from_template(first.streams.video[0])
        muxer = SoundMuxer(container, sound, rate) if sound is not None else None
        delays = [_decode_delay(Path(segment)) for segment in segments]
        frames = 0
        for segment, delay in zip(segments, delays):
            frames = _copy_packets(Path(segment), container, stream, frames, rate, max(delays) - delay, muxer)
        if muxer is not None:
            muxer.finish(frames)
    except BaseException:
        discard_output(container, path)
        raise
    return finish_output(container, path)


def _decode_delay(segment: Path) -> Fraction:
    """How long (seconds) the segment's first decode time lies before its first frame (B-frame reordering; 0 without)."""
    with av.open(str(segment)) as source:
        video = source.streams.video[0]
        first = next((packet.dts for packet in source.demux(video) if packet.dts is not None), 0)
        return max(-first * video.time_base, Fraction(0))


def _copy_packets(segment: Path, container, stream, start: int, rate: Fraction, earlier: Fraction, muxer: SoundMuxer | None) -> int:
    """Copy one segment's packets shifted to frame `start`, decode times `earlier` seconds sooner (so every segment
    has the longest reordering delay and decode times keep rising across joins); returns the frame count after it."""
    frames = start
    with av.open(str(segment)) as source:
        video = source.streams.video[0]
        shift, lead = start / rate / video.time_base, earlier / video.time_base
        if shift.denominator != 1 or lead.denominator != 1:
            raise ValueError(f"segment {segment}: its time base {video.time_base} cannot express frame {start} at {rate} fps exactly")
        for packet in source.demux(video):
            if packet.dts is None:
                continue
            packet.pts += int(shift)
            packet.dts += int(shift - lead)
            packet.stream = stream
            container.mux(packet)
            frames += 1
            if muxer is not None:
                muxer.follow(frames)
    return frames
