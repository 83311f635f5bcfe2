"""Every loader of styleheat_core.io.loaders, each called on the official files it reads from one model folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from styleheat_core.io import loaders
from styleheat_core.io.layouts import OFFICIAL_FILES


def _file(folder: Path, key: str) -> Path:
    return folder / OFFICIAL_FILES[key].filename


def _network_loads(folder: Path) -> dict[str, Callable[[], Any]]:
    """`load_networks` on every official file that holds networks."""
    with_networks = [key for key in OFFICIAL_FILES if key not in ("interfacegan_age", "interfacegan_pose", "ganspace", "wplus_pca", "expression_presets", "bfm_landmarks", "sadtalker_256", "sadtalker_512")]
    return {f"load_networks[{key}]": (lambda key=key: loaders.load_networks(_file(folder, key), key)) for key in with_networks}


def every_load(folder: Path) -> dict[str, Callable[[], Any]]:
    """{call description: zero-argument call} covering each public loader and each official file of `folder`."""

    def f(key: str) -> Path:
        return _file(folder, key)

    calls: dict[str, Callable[[], Any]] = {
        "load_stylegan": lambda: loaders.load_stylegan(f("stylegan")),
        "load_encoder_networks": lambda: loaders.load_encoder_networks(f("e4e"), f("hfgi")),
        "load_motion_networks": lambda: loaders.load_motion_networks(f("styleheat")),
        "load_audio_warper": lambda: loaders.load_audio_warper(f("audio_warper")),
        "load_deep3d": lambda: loaders.load_deep3d(f("deep3d")),
        "load_discriminator": lambda: loaders.load_discriminator(f("discriminator")),
        "load_vgg19": lambda: loaders.load_vgg19(f("vgg19")),
        "load_interfacegan_direction[age]": lambda: loaders.load_interfacegan_direction(f("interfacegan_age"), "interfacegan_age"),
        "load_interfacegan_direction[pose]": lambda: loaders.load_interfacegan_direction(f("interfacegan_pose"), "interfacegan_pose"),
        "load_direction_file[age]": lambda: loaders.load_direction_file(f("interfacegan_age")),
        "load_style_directions": lambda: loaders.load_style_directions(f("interfacegan_age"), f("interfacegan_pose"), f("ganspace")),
        "load_ganspace_pca": lambda: loaders.load_ganspace_pca(f("ganspace")),
        "load_wplus_pca": lambda: loaders.load_wplus_pca(f("wplus_pca")),
        "load_expression_presets": lambda: loaders.load_expression_presets(f("expression_presets")),
        "load_standard_landmarks": lambda: loaders.load_standard_landmarks(f("bfm_landmarks")),
        "load_sadtalker_audio[256]": lambda: loaders.load_sadtalker_audio(f("sadtalker_256")),
        "load_sadtalker_audio[512]": lambda: loaders.load_sadtalker_audio(f("sadtalker_512")),
        "load_sadtalker_audio[pth pair]": lambda: loaders.load_sadtalker_audio(f("sadtalker_audio2exp"), f("sadtalker_audio2pose")),
    }
    calls.update(_network_loads(folder))
    return calls
