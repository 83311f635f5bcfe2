"""Training-test helpers: drawn talking-face videos with known motion, a landmark backend and a coefficient
extractor that read that motion back, and tiny stand-ins for the networks too slow for two CPU cores
(VGG19, the 1024 StyleGAN2, the 30M-parameter calibrator, e4e/HFGI) that keep their interfaces.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from styleheat_core.models.modulation import FeatureModulation
from styleheat_core.models.ops import resize
from styleheat_core.models.stylegan2 import BelowFeature, SynthesisOutput, feature_stage
from styleheat_core.pipeline.inversion import OptimizedInversion
from styleheat_core.preprocess.landmarks import Face

SIDE = 192
SKIN = (200, 160, 120)
MOUTH = (160, 20, 40)


def face_motion(frame: int, phase: float) -> tuple[float, float, float]:
    """Known motion of the drawn face: (x shift, y shift, mouth opening in [0, 1])."""
    t = frame / 4 + phase
    return 12 * np.sin(t), 6 * np.cos(0.7 * t), 0.5 + 0.5 * np.sin(1.3 * t)


def draw_face(x: float, y: float, mouth: float) -> np.ndarray:
    """A SIDE² RGB frame: skin ellipse, dark eyes, red mouth whose height is `mouth`."""
    image = np.full((SIDE, SIDE, 3), 40, np.uint8)
    cx, cy = SIDE / 2 + x, SIDE / 2 + y
    cv2.ellipse(image, (int(cx), int(cy)), (50, 64), 0, 0, 360, SKIN, -1)
    for dx in (-20, 20):
        cv2.circle(image, (int(cx + dx), int(cy - 15)), 7, (20, 20, 60), -1)
    cv2.ellipse(image, (int(cx), int(cy + 30)), (18, int(2 + 10 * mouth)), 0, 0, 360, MOUTH, -1)
    return image


def write_face_video(path: Path, frames: int, phase: float) -> list[tuple[float, float, float]]:
    """Encode a drawn talking face (25 fps, H.264) with a tone as loud as the mouth is open (AAC); returns the motion."""
    path.parent.mkdir(parents=True, exist_ok=True)
    motion = [face_motion(i, phase) for i in range(frames)]
    rate = 16000
    loudness = np.repeat([m[2] for m in motion], rate // 25)
    tone = (0.5 * loudness * np.sin(2 * np.pi * 220 * np.arange(len(loudness)) / rate)).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = SIDE, SIDE, "yuv420p"
        stream.options = {"crf": "12"}
        sound = out.add_stream("aac", rate=rate)
        sound.layout = "mono"
        for params in motion:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(draw_face(*params), format="rgb24")))
        out.mux(stream.encode())
        audio = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
        audio.sample_rate = rate
        out.mux(sound.encode(audio))
        out.mux(sound.encode())
    return motion


IDENTITIES = ("anna", "bert", "cleo", "dora")


def synthetic_videos(root: Path, frames: int = 20) -> dict[str, list[tuple[float, float, float]]]:
    """<root>/<identity>/talk.mp4 for four identities, plus a corrupt file and a faceless clip; returns the known motion."""
    known = {f"{name}#talk": write_face_video(root / name / "talk.mp4", frames, phase=i) for i, name in enumerate(IDENTITIES)}
    (root / "dora" / "broken.mp4").write_bytes(b"not a video at all")
    (root / "erin").mkdir()
    with av.open(str(root / "erin" / "blank.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = SIDE, SIDE, "yuv420p"
        for _ in range(4):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((SIDE, SIDE, 3), 40, np.uint8), format="rgb24")))
        out.mux(stream.encode())
    return known


def _centroid(mask: np.ndarray) -> tuple[float, float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean()), float(ys.max() - ys.min() + 1)


class DrawnFaceBackend:
    """Finds the drawn face by colour; 68 points placed from its skin, eye and mouth blobs (iBUG order)."""

    identity = "drawn-face-test-backend"

    def detect(self, image: np.ndarray) -> list[Face]:
        colour = image.astype(int)
        skin = (np.abs(colour - SKIN).sum(-1) < 60)
        mouth = (np.abs(colour - MOUTH).sum(-1) < 80)
        if skin.sum() < 100 or mouth.sum() < 10:
            return []
        cx, cy, _ = _centroid(skin | mouth)
        mx, my, mh = _centroid(mouth)
        angles = np.linspace(0, np.pi, 17)
        jaw = np.stack([cx - 50 * np.cos(angles), cy + 64 * np.sin(angles) * 0.9], 1)
        brows = np.stack([cx + np.linspace(-30, 30, 10), np.full(10, cy - 28)], 1)
        nose = np.stack([np.full(9, cx), cy - 10 + np.linspace(0, 20, 9)], 1)
        eye_ring = np.linspace(0, 2 * np.pi, 6, endpoint=False)
        eyes = np.concatenate([np.stack([cx + dx + 7 * np.cos(eye_ring), cy - 15 + 5 * np.sin(eye_ring)], 1) for dx in (-20, 20)])
        lips = [np.stack([mx + width * np.cos(ring), my + mh / 2 * np.sin(ring)], 1) for width, ring in ((18, np.pi + np.linspace(0, 2 * np.pi, 12, endpoint=False)), (10, np.pi + np.linspace(0, 2 * np.pi, 8, endpoint=False)))]
        points = np.concatenate([jaw, brows, nose, eyes, *lips])
        return [Face((cx - 50, cy - 64, cx + 50, cy + 64), points)]


def landmark_coefficients(frames: np.ndarray, landmarks: np.ndarray) -> torch.Tensor:
    """Stand-in for Deep3D: expression[0] = mouth opening, translation = face centre, read from the landmarks."""
    semantics = torch.zeros(len(frames), 73)
    mouth = landmarks[:, 48:68, 1].max(1) - landmarks[:, 48:68, 1].min(1)
    semantics[:, 0] = torch.from_numpy(mouth / 10.0).float()
    centre = landmarks[:, :17].mean(1)
    semantics[:, 67:69] = torch.from_numpy((centre - 128) / 32.0).float()
    semantics[:, 70] = 1.0
    return semantics


class TinyVGG(nn.Module):
    """VGG19Features' interface (x, layer_indices) -> one feature per requested layer, at 8 channels."""

    def __init__(self):
        super().__init__()
        self.stages = nn.ModuleList(nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1) for i in range(5))

    def forward(self, x: torch.Tensor, layer_indices=(1, 6, 11, 20, 29)) -> list[torch.Tensor]:
        features = []
        for i, _ in enumerate(layer_indices):
            x = F.relu(self.stages[i](x if i == 0 else F.avg_pool2d(x, 2) if x.shape[-1] > 1 else x))
            features.append(x)
        return features


class TinyGenerator(nn.Module):
    """StyleGAN2 Generator's forward contract at the 64x64 hook with 8 channels, rendering 64² images."""

    channels = 8

    def __init__(self, n_latent: int = 4, style_dim: int = 16):
        super().__init__()
        self.n_latent, self.style_dim = n_latent, style_dim
        self.base = nn.Linear(style_dim, self.channels * 8 * 8)
        self.conv = nn.Conv2d(self.channels, self.channels, 3, padding=1)
        self.to_rgb = nn.Conv2d(self.channels, 3, 1)

    def below_feature(self, w_plus: torch.Tensor) -> BelowFeature:
        """The 64x64 feature before the conditions (this stand-in has no RGB skip below it: zeros)."""
        feature = F.interpolate(self.base(w_plus[:, 0]).view(-1, self.channels, 8, 8), size=(64, 64), mode="bilinear", align_corners=False)
        return BelowFeature(feature, feature.new_zeros(feature.shape[0], 3, 32, 32))

    def forward(
        self, w_plus, *, inversion_condition=None, f_condition=None, grids=(), refinement=None, output_size=None, clamp=False, below=None
    ) -> SynthesisOutput:
        below = self.below_feature(w_plus) if below is None else below
        f_latent, out = feature_stage(below.feature, inversion_condition, f_condition, grids, refinement)
        image = torch.tanh(self.to_rgb(F.leaky_relu(self.conv(out), 0.2)))
        image = image.clamp(-1.0, 1.0) if clamp else image
        return SynthesisOutput(image if output_size is None else resize(image, output_size), f_latent)


class TinyCalibrator(nn.Module):
    """CalibrationNet's contract: `refinement(warped feature, descriptor)` -> the (scale, shift) at the feature's size."""

    def __init__(self, channels: int = TinyGenerator.channels):
        super().__init__()
        self.body = nn.Conv2d(channels, 16, 3, padding=1)
        self.inject = nn.Linear(256, 16)
        self.scale = nn.Conv2d(16, channels, 3, padding=1)
        self.shift = nn.Conv2d(16, channels, 3, padding=1)

    def refinement(self, feature: torch.Tensor, descriptor: torch.Tensor) -> FeatureModulation:
        hidden = F.leaky_relu(self.body(feature) + self.inject(descriptor.flatten(1))[:, :, None, None], 0.2)
        return FeatureModulation(self.scale(hidden), self.shift(hidden))

    def freeze_unused_heads(self) -> "TinyCalibrator":
        return self


class TinyInverter(nn.Module):
    """Inversion stand-in: aligned image -> OptimizedInversion (W+ from pooled colour, feature from a frozen conv)."""

    def __init__(self, generator: TinyGenerator):
        super().__init__()
        self.generator = generator
        self.to_w = nn.Linear(3 * 4 * 4, generator.style_dim)
        self.to_feature = nn.Conv2d(3, generator.channels, 3, padding=1)
        self.requires_grad_(False)

    @torch.no_grad()
    def forward(self, image: torch.Tensor) -> OptimizedInversion:
        w = self.to_w(F.adaptive_avg_pool2d(image, 4).flatten(1))[:, None].expand(-1, self.generator.n_latent, -1)
        small = F.interpolate(image, size=(64, 64), mode="bilinear", align_corners=False)
        feature = self.to_feature(small)
        return OptimizedInversion(w, feature, small)


class TinyDiscriminator(nn.Module):
    """A frozen-D stand-in: image -> (B, 1) score (plain ops, so its backward works whatever models/ops.py does)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.body(image)
