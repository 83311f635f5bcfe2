"""Chunked decoding of a driven video: flows, warped and calibrated features and 1024² frames
are computed a few frames at a time, so memory does not grow with the video length."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Iterator

import torch

from ..allocator import freed_memory_reused
from ..models.stylegan2 import BelowFeature, Generator
from ..progress import ProgressCallback
from .cuda_graph import GraphedStep
from .forward import MotionNetworks, calibrate, render_frames, shared_below
from .handles import ModelHandle, placement, unique_handles
from .image_format import network_to_image
from .inversion import Inversion
from .motion import MotionSource
from .source import SourceLatent

OUTPUT_SIZES = (1024, 512, 256)
# (frames done, total) -> None; may raise to cancel.


@dataclass(frozen=True)
class WarpedFeatures:
    """What flows through STYLEHEAT_FEATURES sockets: the source, its motion and (after Calibrate) the calibration network.

    Nothing is computed until decoding: per frame, the source's 64x64 feature is warped by the
    motion's grids and, when `calibrator` is set, refined by its 64x64 (scale, shift).
    """

    latent: SourceLatent
    motion: MotionSource
    calibrator: ModelHandle[MotionNetworks] | None = None

    @property
    def num_frames(self) -> int:
        return self.motion.num_frames

    @property
    def fps(self) -> float | None:
        """The motion's frame rate (None when unknown)."""
        return self.motion.fps

    def calibrated(self, calibrator: ModelHandle[MotionNetworks]) -> "WarpedFeatures":
        return replace(self, calibrator=calibrator)

    def models(self) -> list[ModelHandle]:
        """Every network decoding runs, besides StyleGAN itself, each once."""
        calibrator = () if self.calibrator is None else (self.calibrator,)
        return unique_handles((*self.latent.models(), *self.motion.models(), *calibrator))

    def frames(self, generator: Generator, frames: list[int]) -> torch.Tensor:
        """Raw 1024² frames (B,3,1024,1024) for these frame indices (one chunk; `renderer` for many)."""
        return self.renderer(generator)(frames)

    def renderer(self, generator: Generator, cuda_graphs: bool = False) -> "FrameRenderer":
        """`frames` for chunk after chunk of this video, sharing what the chunks have in common; with
        `cuda_graphs`, chunks of a repeated size replay a CUDA graph when the networks are on a GPU."""
        return FrameRenderer(self, generator, cuda_graphs)


@dataclass
class FrameRenderer:
    """Raw 1024² frames of `features`, chunk by chunk.

    The generator's layers below 64x64 for the unedited source's code run at the first chunk that needs
    them and are reused by every later one. For those chunks the frames are a function of the motion's
    inputs alone (`chunk_frames`), which `cuda_graphs` replays from a CUDA graph (`cuda_graph.py`);
    chunks with active edits re-decode the source and always run eagerly.
    """

    features: WarpedFeatures
    generator: Generator
    cuda_graphs: bool = False
    _step: GraphedStep | None = field(default=None, init=False)

    @torch.no_grad()
    def __call__(self, frames: list[int]) -> torch.Tensor:
        features = self.features
        source = features.latent.at_frames(frames, features.num_frames)
        inputs = features.motion.inputs(frames)
        if source is not features.latent.inversion:  # frames where edits are active re-decode the source per chunk
            return self.chunk_frames(source, None, *inputs)
        if self._step is None:
            device = placement(self.generator)[0] if self.cuda_graphs else None
            self._step = GraphedStep.on(device, partial(self.chunk_frames, source, shared_below(self.generator, source)))
        return self._step(*inputs)

    def chunks(self, frames: range, chunk_size: int) -> Iterator[tuple[list[int], torch.Tensor]]:
        """`frames` in order, `chunk_size` at a time: each chunk's frame indices and raw frames."""
        for start in range(frames.start, frames.stop, chunk_size):
            indices = list(range(start, min(start + chunk_size, frames.stop)))
            yield indices, self(indices)

    def graph_status(self) -> str:
        """Whether the chunks replay CUDA graphs, and if not, why."""
        return "no chunk of the unedited source rendered yet" if self._step is None else self._step.status

    def chunk_frames(self, source: Inversion, below: BelowFeature | None, *inputs: torch.Tensor) -> torch.Tensor:
        """The frames whose motion inputs these are: motion, calibration, StyleGAN."""
        features = self.features
        motion = features.motion.motion(source, inputs)
        calibration = None if features.calibrator is None else calibrate(features.calibrator.module.calibrator, source.feature, motion)
        return render_frames(self.generator, source, motion, calibration, below)


def frame_range(total: int, start: int = 0, count: int = 0) -> range:
    """Frames start .. start+count-1 of a `total`-frame video (count 0 = to the end), checked, with errors naming the widgets."""
    if total < 1:
        raise ValueError("the motion has 0 frames: connect a driving video or audio with at least one frame")
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError(f"start_frame must be an integer >= 0; got {start!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"frame_count must be an integer >= 0 (0 = to the end); got {count!r}")
    if start >= total:
        raise ValueError(f"start_frame {start} is past the last frame: the motion has {total} frames (0..{total - 1}); lower start_frame")
    stop = total if count == 0 else start + count
    if stop > total:
        raise ValueError(f"frames {start}..{stop - 1} run past the motion's {total} frames: set frame_count to at most {total - start} (0 = to the end)")
    return range(start, stop)


def image_bytes(frames: int, height: int, width: int) -> int:
    """Bytes of an IMAGE batch of `frames` float32 RGB frames."""
    return frames * height * width * 3 * 4


def check_memory(needed: int, available: int, what: str, remedy: str) -> None:
    """Fail before allocating `needed` bytes when they exceed the `available` memory."""
    if needed > available:
        raise MemoryError(f"{what}: {needed / 2**30:.1f} GiB, but only {available / 2**30:.1f} GiB of memory is free. {remedy}")


def check_image_fits(frames: range, size: int, available: int) -> None:
    """Fail before decoding when Decode's IMAGE output would not fit into `available` bytes of memory."""
    fitting = available // image_bytes(1, size, size)
    check_memory(
        image_bytes(len(frames), size, size),
        available,
        f"StyleGAN Decode would return {len(frames)} frames of {size}x{size} as one IMAGE",
        f"Use Render Video (it streams the frames into a video file at flat memory), or decode a part with "
        f"start_frame / frame_count (about {fitting} frames fit), or a smaller size.",
    )


def decode_chunks(
    generator: Generator, features: WarpedFeatures, size: int = 1024, chunk_size: int = 4, frames: range | None = None, cuda_graphs: bool = False
) -> Iterator[torch.Tensor]:
    """Frames of the driven video (all, or `frames`) as IMAGE chunks of at most `chunk_size` frames, in order
    (`cuda_graphs`: see `WarpedFeatures.renderer`)."""
    if size not in OUTPUT_SIZES:
        raise ValueError(f"output size must be one of {OUTPUT_SIZES}; got {size}")
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1; got {chunk_size}")
    frames = range(features.num_frames) if frames is None else frames
    for _, raw in features.renderer(generator, cuda_graphs).chunks(frames, chunk_size):
        yield network_to_image(raw, size)


def decode_video(
    generator: Generator,
    features: WarpedFeatures,
    size: int = 1024,
    chunk_size: int = 4,
    on_progress: ProgressCallback | None = None,
    frames: range | None = None,
    cuda_graphs: bool = False,
) -> torch.Tensor:
    """The driven video (all, or `frames`) as one IMAGE batch (N,size,size,3), filled chunk by chunk into one buffer."""
    frames = range(features.num_frames) if frames is None else frames
    total = len(frames)
    out = torch.empty((total, size, size, 3), dtype=torch.float32)
    done = 0
    with freed_memory_reused():
        for chunk in decode_chunks(generator, features, size, chunk_size, frames, cuda_graphs):
            out[done : done + chunk.shape[0]] = chunk
            done += chunk.shape[0]
            if on_progress is not None:
                on_progress(done, total)
    return out
