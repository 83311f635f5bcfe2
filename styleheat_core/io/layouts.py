"""What each official checkpoint file contains: its place under models/styleheat, its origin and its container.

A layout mirrors the file's nesting: a `ModuleEntry` is a state dict of one of our networks (several
may share one dict, told apart by a key prefix), a `TensorEntry` is a plain tensor of known shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

from torch import nn

from ..models.alexnet import AlexNetFeatures
from ..models.arcface import build_arcface
from ..models.batch_counters import batch_counter_keys
from ..models.calibrator import CalibrationNet
from ..models.deep3d import Deep3DReconNet
from ..models.discriminator import Discriminator
from ..models.e4e import Encoder4Editing
from ..models.fid_inception import build_fid_inception
from ..models.hfgi import ResidualAligner, ResidualEncoder
from ..models.lpips import LPIPSHeads
from ..models.sadtalker_audio2exp import SimpleWrapperV2
from ..models.sadtalker_audio2pose import Audio2Pose
from ..models.stylegan2 import Generator
from ..models.vgg19 import VGG19Features
from ..models.warper import AudioWarper, VideoWarper

MODEL_FOLDER = "models/styleheat"
RELEASE = "the StyleHEAT GitHub release (FeiiYin/StyleHEAT, tag 'styleheat')"


@dataclass(frozen=True)
class ModuleEntry:
    """A state dict for `build()`; `prefix` selects its keys in a shared dict, `ignored_prefixes` are allowed extras."""

    name: str
    build: Callable[[], nn.Module]
    prefix: str = ""
    ignored_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TensorEntry:
    """A plain tensor; `shapes` lists the accepted shapes (-1 matches any size)."""

    name: str
    shapes: tuple[tuple[int, ...], ...]

    def accepts(self, shape: tuple[int, ...]) -> bool:
        return any(len(s) == len(shape) and all(a in (-1, b) for a, b in zip(s, shape)) for s in self.shapes)


Entry = Union[ModuleEntry, TensorEntry]
Layout = Union[ModuleEntry, TensorEntry, list, dict]


@dataclass(frozen=True)
class OfficialFile:
    """One official file: path relative to the styleheat model folder, what it is, where it comes from, its layout."""

    key: str
    filename: str
    what: str
    source: str
    layout: Layout
    extra_top_level: tuple[str, ...] = field(default=())

    @property
    def basename(self) -> str:
        return self.filename.rsplit("/", 1)[-1]


def _calibrator() -> CalibrationNet:
    return CalibrationNet(out_size=64, input_channel=512, num_style_feat=512, channel_multiplier=2, narrow=1)


OFFICIAL_FILES: dict[str, OfficialFile] = {
    f.key: f
    for f in (
        OfficialFile(
            "stylegan",
            "StyleGAN_e4e.pth",
            "StyleGAN2-FFHQ 1024 generator (raw state dict)",
            RELEASE,
            ModuleEntry("generator", lambda: Generator(1024, 512, 8, channel_multiplier=2)),
        ),
        OfficialFile(
            "e4e",
            "Encoder_e4e.pth",
            "e4e encoder {'encoder', 'latent_avg'}",
            RELEASE,
            {"encoder": ModuleEntry("e4e", lambda: Encoder4Editing(50, "ir_se", 1024)), "latent_avg": TensorEntry("latent_avg", ((18, 512), (1, 512), (512,)))},
        ),
        OfficialFile(
            "hfgi",
            "hfgi.pth",
            "HFGI residual aligner and encoder {'aligner', 'encoder'}",
            RELEASE,
            {"aligner": ModuleEntry("aligner", ResidualAligner), "encoder": ModuleEntry("residual_encoder", ResidualEncoder)},
        ),
        OfficialFile(
            "styleheat",
            "StyleHEAT_visual.pt",
            "StyleHEAT video warper and calibrator {'net_G_ema': {video_warper.*, calibrator.*}}",
            RELEASE,
            {"net_G_ema": [ModuleEntry("video_warper", VideoWarper, "video_warper."), ModuleEntry("calibrator", _calibrator, "calibrator.")]},
            extra_top_level=("net_G", "opt_G", "sch_G", "current_epoch", "current_iteration"),
        ),
        OfficialFile(
            "deep3d",
            "Deep3D/epoch_20.pth",
            "Deep3DFaceRecon ResNet-50 coefficient regressor {'net_recon'}",
            RELEASE + " (epoch_20.pth, or Deep3DFaceRecon_pytorch's checkpoints/<name>/epoch_20.pth)",
            {"net_recon": ModuleEntry("deep3d", Deep3DReconNet)},
            extra_top_level=("opt_00", "sched_00", "epoch"),
        ),
        OfficialFile(
            "discriminator",
            "stylegan2_d_256.pth",
            "StyleGAN2 256 discriminator for training (raw state dict)",
            RELEASE,
            ModuleEntry("discriminator", lambda: Discriminator(256, channel_multiplier=2)),
        ),
        OfficialFile(
            "vgg19",
            "vgg19.pth",
            "VGG19 ImageNet weights in torchvision's state-dict format (features.* used, classifier.* ignored)",
            "torchvision's vgg19 ImageNet weights file (vgg19-dcbb9e9d.pth), renamed to vgg19.pth",
            ModuleEntry("vgg19", VGG19Features, ignored_prefixes=("classifier.",)),
        ),
        OfficialFile("interfacegan_age", "interfacegan_directions/age.pt", "InterFaceGAN age direction", RELEASE + " (interfacegan_directions zip)", TensorEntry("direction", ((1, 512), (512,)))),
        OfficialFile("interfacegan_pose", "interfacegan_directions/pose.pt", "InterFaceGAN pose direction", RELEASE + " (interfacegan_directions zip)", TensorEntry("direction", ((1, 512), (512,)))),
        OfficialFile(
            "ganspace",
            "ffhq_pca.pt",
            "GANSpace PCA of W {'mean', 'comp', 'std'}",
            RELEASE,
            {"mean": TensorEntry("mean", ((1, 512),)), "comp": TensorEntry("comp", ((-1, 1, 512),)), "std": TensorEntry("std", ((-1,),))},
        ),
        OfficialFile(
            "wplus_pca",
            "ffhq_PCA.npz",
            "W+ PCA for the optimisation inversion's P-norm loss {X_mean, X_comp, X_stdev}",
            RELEASE,
            {"X_mean": TensorEntry("X_mean", ((512,),)), "X_comp": TensorEntry("X_comp", ((512, 512),)), "X_stdev": TensorEntry("X_stdev", ((512,),))},
            extra_top_level=("X_var_ratio",),
        ),
        OfficialFile(
            "audio_warper",
            "audio_warper.pt",
            "the paper's AudioWarper {'net_G_ema': AudioWarper state dict} (official weights were never released)",
            "your own training: python -m styleheat_core.train (audio stage), or a StyleHEAT audio_warper_path checkpoint",
            {"net_G_ema": ModuleEntry("audio_warper", AudioWarper)},
            extra_top_level=("net_G", "opt_G", "sch_G", "current_epoch", "current_iteration"),
        ),
        OfficialFile(
            "expression_presets",
            "intuitive_edit/expression.pth",
            "expression vectors of the official intuitive-editing demo {'expression_center', 'expression_mouth', 'expression_eyebrow', 'expression_eyes'}",
            "the StyleHEAT repository, docs/demo/intuitive_edit/expression.pth",
            {name: TensorEntry(name, ((64,),)) for name in ("expression_center", "expression_mouth", "expression_eyebrow", "expression_eyes")},
        ),
        OfficialFile(
            "bfm_landmarks",
            "BFM/similarity_Lm3D_all.mat",
            "standard 3D face landmarks {'lm' (68, 3)}",
            "Deep3DFaceRecon_pytorch's BFM folder, or SadTalker's BFM_Fitting.zip (v0.0.1 release)",
            {"lm": TensorEntry("lm", ((68, 3),))},
        ),
    )
}


def official_file(key: str) -> OfficialFile:
    if key not in OFFICIAL_FILES:
        raise KeyError(f"unknown checkpoint kind '{key}'; known: {sorted(OFFICIAL_FILES)}")
    return OFFICIAL_FILES[key]


def identify(filename: str) -> OfficialFile | None:
    """The official file a path refers to, from its base name (a `.safetensors` twin counts too)."""
    stem = filename.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".safetensors",):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    for spec in OFFICIAL_FILES.values():
        base = spec.basename
        if stem == base or stem == base.rsplit(".", 1)[0]:
            return spec
    return None


SADTALKER_RELEASE = "the SadTalker GitHub releases (OpenTalker/SadTalker, scripts/download_models.sh)"
SADTALKER_AUDIO_LAYOUT = [ModuleEntry("audio2exp", SimpleWrapperV2, "audio2exp."), ModuleEntry("audio2pose", Audio2Pose, "audio2pose.")]

OFFICIAL_FILES.update(
    {
        f.key: f
        for f in (
            OfficialFile(
                "sadtalker_256",
                "sadtalker/SadTalker_V0.0.2_256.safetensors",
                "SadTalker networks; only audio2exp.* (SimpleWrapperV2) and audio2pose.* (Audio2Pose) are read",
                SADTALKER_RELEASE + ", release v0.0.2-rc",
                SADTALKER_AUDIO_LAYOUT,
            ),
            OfficialFile(
                "sadtalker_512",
                "sadtalker/SadTalker_V0.0.2_512.safetensors",
                "SadTalker networks; only audio2exp.* (SimpleWrapperV2) and audio2pose.* (Audio2Pose) are read",
                SADTALKER_RELEASE + ", release v0.0.2-rc",
                SADTALKER_AUDIO_LAYOUT,
            ),
            OfficialFile(
                "sadtalker_audio2exp",
                "sadtalker/auido2exp_00300-model.pth",
                "SadTalker audio-to-expression network {'model': SimpleWrapperV2 state dict, 'optimizer', 'epoch'}",
                SADTALKER_RELEASE + ", release v0.0.1 (the name's 'auido' is official)",
                {"model": ModuleEntry("audio2exp", SimpleWrapperV2)},
                extra_top_level=("optimizer", "epoch"),
            ),
            OfficialFile(
                "sadtalker_audio2pose",
                "sadtalker/auido2pose_00140-model.pth",
                "SadTalker audio-to-pose CVAE {'model': Audio2Pose state dict, 'optimizer', 'epoch'}",
                SADTALKER_RELEASE + ", release v0.0.1 (the name's 'auido' is official)",
                {"model": ModuleEntry("audio2pose", Audio2Pose)},
                extra_top_level=("optimizer", "epoch"),
            ),
        )
    }
)

METRICS_FOLDER = "metrics"

OFFICIAL_FILES.update(
    {
        f.key: f
        for f in (
            OfficialFile(
                "metric_alexnet",
                f"{METRICS_FOLDER}/alexnet-owt-7be5be79.pth",
                "torchvision AlexNet ImageNet weights, the LPIPS trunk (features.* used, classifier.* ignored)",
                "torchvision's model zoo (alexnet-owt-7be5be79.pth)",
                ModuleEntry("alexnet", AlexNetFeatures, ignored_prefixes=("classifier.",)),
            ),
            OfficialFile(
                "metric_lpips_alex",
                f"{METRICS_FOLDER}/alex.pth",
                "LPIPS v0.1 linear heads for AlexNet {lin0..lin4}",
                "the lpips package (lpips/weights/v0.1/alex.pth; pip wheel or richzhang/PerceptualSimilarity)",
                ModuleEntry("lpips_alex", LPIPSHeads),
            ),
            OfficialFile(
                "metric_fid_inception",
                f"{METRICS_FOLDER}/pt_inception-2015-12-05-6726825d.pth",
                "pytorch-fid's Inception-v3 (TensorFlow FID graph 2015-12-05, 1008 classes)",
                "the pytorch-fid release 'fid_weights' (mseitzer/pytorch-fid)",
                ModuleEntry("fid_inception", build_fid_inception, ignored_prefixes=batch_counter_keys(build_fid_inception)),
            ),
            OfficialFile(
                "metric_arcface",
                f"{METRICS_FOLDER}/model_ir_se50.pth",
                "ArcFace IR-SE50 identity network of pSp/e4e (raw state dict)",
                RELEASE + " (model_ir_se50.pth; also pSp's pretrained models)",
                ModuleEntry("arcface", build_arcface, ignored_prefixes=batch_counter_keys(build_arcface)),
            ),
        )
    }
)
