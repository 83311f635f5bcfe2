"""One loader per official file, returning ready networks (eval mode, on a device and dtype) or plain values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..audio.sadtalker import SadTalkerAudioNetworks
from ..editing.directions import GanspacePCA, StyleDirections
from ..editing.inversion_loss import WPlusPCA
from ..models.deep3d import Deep3DReconNet
from ..models.discriminator import Discriminator
from ..models.stylegan2 import Generator
from ..models.vgg19 import VGG19Features
from ..models.warper import AudioWarper
from ..pipeline.forward import MotionNetworks
from ..pipeline.inversion import EncoderNetworks
from ..preprocess.deep3d_align import standard_landmarks_5
from .checkpoints import CheckpointError, build_module, read_tensor_file, validated_parts, validated_prefixed_parts
from .layouts import ModuleEntry, OfficialFile, identify, official_file

PathLike = str | Path


def _modules(spec: OfficialFile) -> dict[str, ModuleEntry]:
    found: dict[str, ModuleEntry] = {}

    def walk(layout) -> None:
        if isinstance(layout, ModuleEntry):
            found[layout.name] = layout
        elif isinstance(layout, list):
            for entry in layout:
                walk(entry)
        elif isinstance(layout, dict):
            for sub in layout.values():
                walk(sub)

    walk(spec.layout)
    return found


def load_networks(path: PathLike, key: str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> dict[str, nn.Module]:
    """Every network stored in the official file `key` (see layouts.OFFICIAL_FILES), by entry name."""
    spec = official_file(key)
    parts = validated_parts(path, spec)
    return {name: build_module(entry, parts[name], device, dtype) for name, entry in _modules(spec).items()}


def load_stylegan(path: PathLike, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Generator:
    """StyleGAN_e4e.pth -> Generator(1024, 512, 8, 2)."""
    return load_networks(path, "stylegan", device, dtype)["generator"]


def load_encoder_networks(e4e_path: PathLike, hfgi_path: PathLike, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> EncoderNetworks:
    """Encoder_e4e.pth + hfgi.pth -> e4e (+ latent_avg) and the HFGI residual networks."""
    e4e_parts = validated_parts(e4e_path, official_file("e4e"))
    e4e = build_module(_modules(official_file("e4e"))["e4e"], e4e_parts["e4e"], device, dtype)
    hfgi = load_networks(hfgi_path, "hfgi", device, dtype)
    latent_avg = e4e_parts["latent_avg"].to(device=device, dtype=dtype)
    return EncoderNetworks(e4e, latent_avg, hfgi["aligner"], hfgi["residual_encoder"])


def load_motion_networks(path: PathLike, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> MotionNetworks:
    """StyleHEAT_visual.pt (net_G_ema) -> video warper and calibrator."""
    nets = load_networks(path, "styleheat", device, dtype)
    return MotionNetworks(nets["video_warper"], nets["calibrator"])


def load_audio_warper(path: PathLike, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> AudioWarper:
    """audio_warper.pt (net_G_ema) -> the paper's AudioWarper."""
    return load_networks(path, "audio_warper", device, dtype)["audio_warper"]


def load_deep3d(path: PathLike, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Deep3DReconNet:
    """Deep3D/epoch_20.pth (net_recon) -> the 257-coefficient regressor."""
    return load_networks(path, "deep3d", device, dtype)["deep3d"]


def load_discriminator(path: PathLike, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Discriminator:
    """stylegan2_d_256.pth -> Discriminator(256, 2) (training only)."""
    return load_networks(path, "discriminator", device, dtype)["discriminator"]


def load_vgg19(path: PathLike, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> VGG19Features:
    """A torchvision-format VGG19 state dict -> VGG19Features (classifier weights ignored)."""
    return load_networks(path, "vgg19", device, dtype)["vgg19"]


def load_interfacegan_direction(path: PathLike, key: str = "interfacegan_age") -> torch.Tensor:
    """interfacegan_directions/{age,pose}.pt -> a (1, 512) float32 direction."""
    return validated_parts(path, official_file(key))["direction"].float().reshape(1, -1)


def load_ganspace_pca(path: PathLike) -> GanspacePCA:
    """ffhq_pca.pt -> GanspacePCA(mean, comp, std)."""
    parts = validated_parts(path, official_file("ganspace"))
    return GanspacePCA(parts["mean"].float(), parts["comp"].float(), parts["std"].float())


def load_style_directions(age: PathLike | None = None, pose: PathLike | None = None, ganspace: PathLike | None = None) -> StyleDirections:
    """The official global-edit files that are given: interfacegan_directions/{age,pose}.pt and ffhq_pca.pt."""
    given = {"age": age, "pose": pose}
    interfacegan = {name: load_interfacegan_direction(path, f"interfacegan_{name}") for name, path in given.items() if path is not None}
    return StyleDirections(interfacegan, load_ganspace_pca(ganspace) if ganspace is not None else None)


def load_wplus_pca(path: PathLike) -> WPlusPCA:
    """ffhq_PCA.npz -> WPlusPCA(X_mean, X_comp, X_stdev), cast to float32 as official."""
    parts = validated_parts(path, official_file("wplus_pca"))
    return WPlusPCA(parts["X_mean"].float(), parts["X_comp"].float(), parts["X_stdev"].float())


def load_expression_presets(path: PathLike) -> dict[str, torch.Tensor]:
    """intuitive_edit/expression.pth -> {'expression_center', 'expression_mouth', ...}: (64,) float32 expression vectors."""
    return {name: value.float() for name, value in validated_parts(path, official_file("expression_presets")).items()}


def load_direction_file(path: PathLike) -> torch.Tensor:
    """A user's W+ direction (.pt/.pth/.npy/.safetensors holding one tensor, alone or as the only dict value): (1|18, 512) float32."""
    remedy = "save the direction with torch.save(tensor), numpy.save(array) or as safetensors"
    content = read_tensor_file(path, "direction file", "put it into the styleheat model folder", remedy, "a tensor file")
    tensors = list(content.values()) if isinstance(content, dict) else [content]
    if len(tensors) != 1 or not isinstance(tensors[0], torch.Tensor):
        raise CheckpointError(f"direction file {path} must hold exactly one tensor; it holds {len(tensors)} values")
    direction = tensors[0].float()
    if direction.numel() not in (512, 18 * 512):
        raise CheckpointError(f"direction file {path}: expected 512 or 18x512 values (a W or W+ direction); got shape {tuple(direction.shape)}")
    return direction.reshape(-1, 512)


def load_standard_landmarks(path: PathLike) -> np.ndarray:
    """BFM/similarity_Lm3D_all.mat -> the 5 standard 3D landmarks (5, 3) used by the Deep3D crop."""
    return standard_landmarks_5(validated_parts(path, official_file("bfm_landmarks"))["lm"].numpy())


def load_sadtalker_audio(
    path: PathLike, pose_path: PathLike | None = None, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> SadTalkerAudioNetworks:
    """SadTalker's audio networks from SadTalker_V0.0.2_{256,512}.safetensors (audio2exp.* / audio2pose.* keys),
    or from auido2exp_00300-model.pth (`path`) + auido2pose_00140-model.pth (`pose_path`), strictly checked."""
    spec = identify(str(path))
    if spec is None and str(path).endswith(".safetensors"):
        spec = official_file("sadtalker_256")
    if spec is not None and spec.key in ("sadtalker_256", "sadtalker_512"):
        parts = validated_prefixed_parts(path, spec)
        entries = {entry.name: entry for entry in spec.layout}
        nets = {name: build_module(entries[name], parts[name], device, dtype) for name in entries}
        return SadTalkerAudioNetworks(nets["audio2exp"], nets["audio2pose"])
    if pose_path is None:
        raise ValueError(
            f"{path}: give SadTalker_V0.0.2_256.safetensors, or both auido2exp_00300-model.pth and auido2pose_00140-model.pth"
        )
    exp = load_networks(path, "sadtalker_audio2exp", device, dtype)["audio2exp"]
    pose = load_networks(pose_path, "sadtalker_audio2pose", device, dtype)["audio2pose"]
    return SadTalkerAudioNetworks(exp, pose)
