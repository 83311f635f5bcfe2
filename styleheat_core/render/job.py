"""One headless render, in stages that each hold only the networks they run, on one process or split over several.

The same core code as the nodes: FFHQ alignment, 3DMM extraction (or SadTalker audio coefficients),
the encoder inversion, the lazy StyleHEAT forward and the streaming renderer with paste-back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from ..audio.drive import audio_drive
from ..audio.sadtalker import PoseOptions
from ..editing.directions import GANSPACE_PRESETS, INTERFACEGAN_PRESETS, OWN_DIRECTION, edit_latent
from ..editing.schedule import SCHEDULES, StrengthSchedule
from ..io.loaders import (
    load_deep3d,
    load_encoder_networks,
    load_ganspace_pca,
    load_interfacegan_direction,
    load_motion_networks,
    load_sadtalker_audio,
    load_standard_landmarks,
    load_stylegan,
)
from ..io.sound import SoundSource, file_sound
from ..io.video_join import join_segments
from ..io.video_writer import VideoFormat
from ..pipeline.decode import OUTPUT_SIZES, WarpedFeatures, frame_range
from ..pipeline.frame_clock import DEFAULT_FPS, check_fps, choose_fps
from ..pipeline.handles import LocalModel
from ..pipeline.image_format import image_to_network, uint8_to_image
from ..pipeline.inversion import encoder_input, invert_code
from ..pipeline.motion import CoefficientMotion
from ..pipeline.render import ImageFrames, PasteBackPlan, render_to_file
from ..pipeline.source import ScheduledEdit, SourceLatent
from ..preprocess.ffhq_align import AlignedPortrait, align_portrait
from ..preprocess.images import read_image
from ..preprocess.motion import extract_video_motion
from ..preprocess.video_io import probe_video, read_soundtrack
from .distributed import Ranks, clear_segments, segment_path
from .models import ModelFolder, device_for, dtype_for, release

EDIT_NAMES = sorted(set(INTERFACEGAN_PRESETS) - {OWN_DIRECTION}) + sorted(GANSPACE_PRESETS)


@dataclass(frozen=True)
class StyleEdit:
    """A W+ edit of the source: `name` (age, young, old, pose, beard, lip), strength, schedule over the frames."""

    name: str
    strength: float
    schedule: str = "constant"

    @classmethod
    def parse(cls, text: str) -> "StyleEdit":
        """'age=5' or 'age=5:linear'."""
        name, _, rest = text.partition("=")
        strength, _, schedule = rest.partition(":")
        try:
            value = float(strength)
        except ValueError:
            raise ValueError(f"--edit '{text}': write NAME=STRENGTH[:SCHEDULE], e.g. age=5 or age=5:linear") from None
        edit = cls(name.strip(), value, schedule.strip() or "constant")
        if edit.name not in EDIT_NAMES:
            raise ValueError(f"--edit '{text}': unknown edit '{edit.name}'; choose one of {EDIT_NAMES}")
        if edit.schedule not in SCHEDULES or edit.schedule == "keyframes":
            raise ValueError(f"--edit '{text}': schedule must be one of {[s for s in SCHEDULES if s != 'keyframes']}")
        return edit


@dataclass(frozen=True)
class RenderJob:
    """What to render: a portrait driven by a video or by speech, into an mp4 (paths already resolved)."""

    portrait: Path
    out: Path
    video: Path | None = None
    audio: Path | None = None
    models: ModelFolder = field(default_factory=ModelFolder.default)
    size: int = 1024
    frames: int = 0
    chunk: int = 4
    precision: str = "auto"
    device: str = "auto"
    edits: tuple[StyleEdit, ...] = ()
    fps: float = 0.0
    video_format: VideoFormat = VideoFormat()
    paste_back: bool = True
    cache_dir: Path | None = None
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if (self.video is None) == (self.audio is None):
            raise ValueError("give the driving video (--video) or the speech (--audio), not both")
        for path, what in ((self.portrait, "--portrait"), (self.video, "--video"), (self.audio, "--audio")):
            if path is not None and not path.is_file():
                raise FileNotFoundError(f"{what} {path} does not exist")
        if self.out.suffix.lower() != ".mp4":
            raise ValueError(f"--out must name an .mp4 file; got {self.out.name}")
        if self.size not in OUTPUT_SIZES:
            raise ValueError(f"--size must be one of {OUTPUT_SIZES}; got {self.size}")
        if self.frames < 0:
            raise ValueError(f"--frames must be >= 0 (0 = all); got {self.frames}")
        if self.chunk < 1:
            raise ValueError(f"--chunk must be >= 1; got {self.chunk}")
        if self.fps:
            check_fps(self.fps, "--fps")


def required_models(job: RenderJob) -> list[str]:
    """The official files the job reads (checked before any work starts)."""
    keys = ["deep3d", "bfm_landmarks", "stylegan", "e4e", "hfgi", "styleheat"]
    if job.audio is not None:
        keys.append("sadtalker_256")
    for edit in job.edits:
        keys.append("ganspace" if edit.name in GANSPACE_PRESETS else f"interfacegan_{INTERFACEGAN_PRESETS[edit.name]}")
    return keys


@dataclass(frozen=True)
class Motion:
    """(N, 73) motion vectors and the frame rate they were made at."""

    vectors: torch.Tensor
    fps: float


def _speech(path: Path) -> dict:
    sound = read_soundtrack(path)
    if sound is None:
        raise ValueError(f"--audio {path} has no sound; give a file with an audio stream")
    return {"waveform": torch.from_numpy(sound[0])[None], "sample_rate": sound[1]}


def driving_motion(job: RenderJob, portrait: AlignedPortrait, device: torch.device, dtype: torch.dtype, log: Callable[[str], None]) -> Motion:
    """Motion vectors from the driving video (Deep3D), or from the speech (Deep3D on the portrait, then SadTalker); each network freed after use."""
    deep3d = load_deep3d(job.models.file("deep3d"), device, dtype)
    landmarks = load_standard_landmarks(job.models.file("bfm_landmarks"))
    limit = job.frames or None
    if job.video is not None:
        info = probe_video(job.video)
        total = min(info.frames, limit or info.frames)
        with tqdm(total=total, unit="frame", desc="3DMM motion") as bar:
            motion = extract_video_motion(job.video, deep3d, landmarks, cache_dir=job.cache_dir, max_frames=limit, on_progress=lambda done, _: bar.update(done - bar.n))
        del deep3d
        release(device)
        return Motion(motion.semantics, float(info.fps) if info.fps else DEFAULT_FPS)
    source = extract_video_motion(portrait.image[None], deep3d, landmarks).semantics[0]
    del deep3d
    release(device)
    fps = job.fps or DEFAULT_FPS
    log(f"speech -> motion at {fps:g} fps (SadTalker)")
    nets = load_sadtalker_audio(job.models.file("sadtalker_256"), None, device, torch.float32)
    vectors = audio_drive(nets, _speech(job.audio), source, fps, PoseOptions()).semantics
    del nets
    release(device)
    return Motion(vectors[:limit] if limit else vectors, fps)


def _edit(job: RenderJob, edit: StyleEdit) -> ScheduledEdit:
    if edit.name in GANSPACE_PRESETS:
        interfacegan, pca = {}, load_ganspace_pca(job.models.file("ganspace"))
    else:
        direction = INTERFACEGAN_PRESETS[edit.name]
        interfacegan, pca = {direction: load_interfacegan_direction(job.models.file(f"interfacegan_{direction}"), f"interfacegan_{direction}")}, None
    return ScheduledEdit(edit.name, lambda w, s: edit_latent(w, edit.name, s, interfacegan, pca), edit.strength, StrengthSchedule(edit.schedule))


def source_latent(job: RenderJob, portrait: AlignedPortrait, device: torch.device, dtype: torch.dtype) -> SourceLatent:
    """The encoder inversion of the aligned portrait, in two stages: e4e gives the W+ code and is freed
    before StyleGAN renders at 1024²; HFGI's networks are kept only when W+ edits re-decode with them."""
    encoders = load_encoder_networks(job.models.file("e4e"), job.models.file("hfgi"), device, dtype)
    image256 = encoder_input(encoders, image_to_network(uint8_to_image(portrait.image[None])))
    w_plus = encoders.encode(image256)
    encoders = encoders.residual_only()
    release(device)
    generator = load_stylegan(job.models.file("stylegan"), device, dtype)
    inversion = invert_code(generator, encoders, image256, w_plus)
    latent = SourceLatent(inversion, LocalModel(generator), LocalModel(encoders) if job.edits else None)
    del encoders
    release(device)
    for edit in job.edits:
        latent = latent.with_edit(_edit(job, edit))
    return latent


def soundtrack(job: RenderJob, log: Callable[[str], None]) -> SoundSource | None:
    """The driving video's or the speech's sound; says so when there is none."""
    source = job.video if job.video is not None else job.audio
    sound = file_sound(source)
    if sound is None:
        log(f"note: {source.name} has no sound, so the video is silent (give --audio with speech, or a driving video with sound)")
    return sound


def run(job: RenderJob, ranks: Ranks = Ranks(), log: Callable[[str], None] = print) -> Path | None:
    """Render the job (this process's share of it under torchrun); the first process returns the finished file."""
    for key in required_models(job):
        job.models.file(key)
    device = device_for(job.device)
    dtype = dtype_for(job.precision, device)
    image = read_image(job.portrait)
    portrait = align_portrait(image)
    motion = driving_motion(job, portrait, device, dtype, log) if ranks.first else None
    vectors = ranks.broadcast(motion.vectors if motion else None)
    fps_tensor = ranks.broadcast(torch.tensor([[motion.fps]]) if motion else None)
    latent = source_latent(job, portrait, device, dtype)
    networks = LocalModel(load_motion_networks(job.models.file("styleheat"), device, dtype))
    features = WarpedFeatures(latent, CoefficientMotion(networks, vectors, float(fps_tensor[0, 0])), networks)
    frames = frame_range(features.num_frames)
    fps = choose_fps(features.fps, job.fps if job.video is not None else 0.0, len(frames), "render")
    paste = PasteBackPlan(ImageFrames(uint8_to_image(image[None])), (portrait.transform,)) if job.paste_back else None
    sound = soundtrack(job, log) if ranks.first else None
    share = ranks.share(len(frames)) if ranks.world > 1 else frames
    target = segment_path(job.out, ranks.rank) if ranks.world > 1 else job.out
    generator = latent.generator.module
    if len(share):
        desc = f"render (rank {ranks.rank})" if ranks.world > 1 else "render"
        with tqdm(total=len(share), unit="frame", desc=desc, position=ranks.rank) as bar:
            render_to_file(
                generator, features, target, fps, share, job.size, job.chunk, job.video_format, paste,
                sound if ranks.world == 1 else None, on_progress=lambda done, _: bar.update(done - bar.n), cuda_graphs=job.cuda_graphs,
            )
    ranks.barrier()
    if ranks.world == 1:
        return job.out
    if not ranks.first:
        return None
    segments = [segment_path(job.out, rank) for rank in range(ranks.world) if len(Ranks(rank, ranks.world).share(len(frames)))]
    joined = join_segments(segments, job.out, fps, sound)
    clear_segments(job.out)
    return joined
