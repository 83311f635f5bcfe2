"""Rendering a driven video straight into a file at flat memory: a chunk of frames at a time is rendered,
pasted back into its original frames (read lazily from the portrait, an IMAGE batch or a video file),
and encoded, so neither the generated nor the original frames ever exist for the whole video.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Protocol, Sequence

import numpy as np
import torch

from ..allocator import freed_memory_reused
from ..audio.waveform import channels_by_samples
from ..io.sound import ArraySound, SoundSource, sound_from
from ..io.video_writer import VideoFormat, VideoWriter, check_sound_covers
from ..models.stylegan2 import Generator
from ..preprocess.ffhq_align import AlignTransform
from ..preprocess.paste_back import check_mask_options, paste_back_batch
from ..preprocess.video_io import VideoFile, iter_video_frames, probe_video, video_name
from ..progress import ProgressCallback
from .decode import OUTPUT_SIZES, WarpedFeatures
from .image_format import image_to_uint8, network_to_uint8


class OriginalFrames(Protocol):
    """The frames generated faces are pasted into, by frame index of the driven video."""

    @property
    def num_frames(self) -> int:
        """How many frames there are; 1 means one image reused for every frame."""
        ...

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the frames."""
        ...

    def frames(self, indices: Sequence[int]) -> torch.Tensor:
        """(B or 1, H, W, 3) uint8 originals of these frames."""
        ...


@dataclass(frozen=True)
class ImageFrames:
    """Originals from an IMAGE batch (B, H, W, 3) in [0, 1]: one portrait for every frame, or one image per frame."""

    images: torch.Tensor

    @property
    def num_frames(self) -> int:
        return int(self.images.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])

    def frames(self, indices: Sequence[int]) -> torch.Tensor:
        chosen = self.images[:1] if self.num_frames == 1 else self.images[list(indices)]
        return torch.from_numpy(image_to_uint8(chosen))


@dataclass
class VideoFrames:
    """Originals read from a video file in order, from frame `start` on: only the frames of the current chunk are decoded."""

    video: VideoFile
    start: int = 0
    num_frames: int = field(init=False)
    size: tuple[int, int] = field(init=False)
    _next: int = field(init=False)
    _reader: Iterator[np.ndarray] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        info = probe_video(self.video)
        self.num_frames, self.size = info.frames, (info.height, info.width)
        self._next = self.start

    def frames(self, indices: Sequence[int]) -> torch.Tensor:
        if list(indices) != list(range(self._next, self._next + len(indices))):
            raise ValueError(f"video originals are read in order: expected frames from {self._next}, got {list(indices)[:3]}...")
        if self._reader is None:
            self._reader = iter_video_frames(self.video, start=self.start)
        chunk = [next(self._reader, None) for _ in indices]
        if any(frame is None for frame in chunk):
            raise ValueError(f"{video_name(self.video)} ended before frame {indices[-1]}: it has fewer frames than the motion")
        self._next += len(indices)
        return torch.from_numpy(np.stack(chunk))


@dataclass(frozen=True)
class PasteBackPlan:
    """Paste each generated face into its original frame through the crop transform(s), with a feathered mask."""

    originals: OriginalFrames
    transforms: tuple[AlignTransform, ...]
    mask_shape: str = "face"
    feather: float = 0.06

    def __post_init__(self) -> None:
        check_mask_options(self.mask_shape, self.feather)
        if not self.transforms:
            raise ValueError("paste-back needs at least one crop transform (Face Align or Video Crop's 'crop')")

    def check_covers(self, frames: range, what: str = "the originals") -> None:
        """Raise unless there is one original and one transform per rendered frame (or a single shared one)."""
        for have, name in ((self.originals.num_frames, what), (len(self.transforms), "the crop transforms")):
            if have != 1 and have < frames.stop:
                raise ValueError(
                    f"paste-back needs 1 or at least {frames.stop} {name} for frames {frames.start}..{frames.stop - 1}; got {have}. "
                    f"Connect the video the motion came from (or one portrait), or render fewer frames (frame_count)"
                )

    def paste(self, faces: torch.Tensor, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, S, S, 3) uint8 generated faces of frames `indices` -> (B, H, W, 3) uint8 composited frames and (B, H, W) masks."""
        transforms = [self.transforms[min(i, len(self.transforms) - 1)] for i in indices]
        return paste_back_batch(self.originals.frames(indices), faces, transforms, self.mask_shape, self.feather)


def sound_of_audio(audio: Mapping) -> ArraySound:
    """A ComfyUI AUDIO dict {"waveform": [1, C, T], "sample_rate"} as the writer's sound source (one clip, finite samples)."""
    if "waveform" not in audio or "sample_rate" not in audio:
        raise ValueError(f"AUDIO must be a dict with 'waveform' and 'sample_rate'; got keys {sorted(audio)}")
    samples = channels_by_samples(audio["waveform"])
    samples = samples.float().cpu().numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples, dtype=np.float32)
    return ArraySound(samples, int(audio["sample_rate"]))


def render_chunks(
    generator: Generator,
    features: WarpedFeatures,
    frames: range,
    size: int = 1024,
    chunk_size: int = 4,
    paste: PasteBackPlan | None = None,
    cuda_graphs: bool = False,
) -> Iterator[torch.Tensor]:
    """(B, H, W, 3) uint8 chunks of the finished frames (pasted back when asked), in order, on the generator's device
    (`cuda_graphs`: see `WarpedFeatures.renderer`)."""
    if size not in OUTPUT_SIZES:
        raise ValueError(f"output size must be one of {OUTPUT_SIZES}; got {size}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1; got {chunk_size}")
    if paste is not None:
        paste.check_covers(frames)
    for indices, raw in features.renderer(generator, cuda_graphs).chunks(frames, chunk_size):
        faces = network_to_uint8(raw, size)
        yield faces if paste is None else paste.paste(faces, indices)[0]


def render_to_file(
    generator: Generator,
    features: WarpedFeatures,
    path: str | Path,
    fps: float,
    frames: range,
    size: int = 1024,
    chunk_size: int = 4,
    video_format: VideoFormat = VideoFormat(),
    paste: PasteBackPlan | None = None,
    sound: SoundSource | None = None,
    metadata: Mapping[str, str] | None = None,
    on_progress: ProgressCallback | None = None,
    cuda_graphs: bool = False,
) -> Path:
    """Render `frames` into a video file chunk by chunk; returns the final path.

    The sound is taken from the time of the first frame on, trimmed or padded to the video's duration.

    The file appears under `path` only when complete; `on_progress(done, total)` may raise to cancel,
    which deletes the partial file.
    """
    if sound is not None:
        sound = sound_from(sound, frames.start / fps)
        check_sound_covers(sound, len(frames), fps)
    with freed_memory_reused(), VideoWriter(path, fps, video_format, sound, metadata) as writer:
        for chunk in render_chunks(generator, features, frames, size, chunk_size, paste, cuda_graphs):
            writer.write(chunk.cpu().numpy())
            if on_progress is not None:
                on_progress(writer.frames, len(frames))
    return writer.path
