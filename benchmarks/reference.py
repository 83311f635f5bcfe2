"""The official StyleHEAT per-frame computation, used as the speed baseline (`run.py --compare-reference`).

What the official `inference.py` loop does at batch 1, computed the way the official code computes
it on the CPU: our modules with their official forwards swapped in (`tests/support/official_ops.py`:
rosinality's `upfirdn2d_native`, the out-of-place fused leaky ReLU, per-sample modulated weights and
grouped convolutions, the nn.Sequential ConvLayer, ...), NCHW activations, fp32, and
`StyleHEAT.forward`'s order of work per frame: warper, the `video_warp_img` StyleGAN pass whose image
is never used (and its resize to `imsize`), the calibrator's eight official maps, final StyleGAN pass
with the HFGI condition, final resize. `reference_inversion` and `reference_deep3d` compute the
inversion (e4e + HFGI) and the Deep3D ResNet-50 with the same official forms.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from styleheat_core.models.calibrator import refinement_from_official
from styleheat_core.models.ops import resize
from styleheat_core.models.stylegan2 import Generator
from styleheat_core.pipeline.forward import MotionNetworks, predict_motion, render_warped, warp_feature
from styleheat_core.pipeline.image_format import network_to_image
from styleheat_core.pipeline.inversion import EncodedInversion, EncoderNetworks, Inversion, invert
from styleheat_core.preprocess.semantics import semantic_windows
from tests.support.official_ops import official_ops

IMSIZE = 1024  # the official demo's `imsize`: its resizes are computed even though they keep 1024²


@torch.no_grad()
def reference_frame(generator: Generator, nets: MotionNetworks, source: Inversion, window: torch.Tensor) -> torch.Tensor:
    """One raw 1024² frame as official `StyleHEAT.forward` computes it, extra pass included (call inside `official_ops()`)."""
    motion = predict_motion(nets.video_warper, source.image256, window)
    warped = warp_feature(source.feature, motion.grids)
    resize(render_warped(generator, source, motion), IMSIZE)  # video_warp_img: computed, never used
    refinement = refinement_from_official(nets.calibrator(warped, motion.descriptor))
    fake = generator(
        source.w_plus, inversion_condition=source.condition, f_condition=source.feature, grids=motion.grids, refinement=refinement
    ).image
    return resize(fake, IMSIZE)


@contextlib.contextmanager
def _official_layout(generator: Generator) -> Iterator[None]:
    """Official forms, and the generator's activations in NCHW as the official code keeps them."""
    layout = generator.memory_format
    generator.memory_format = torch.contiguous_format
    try:
        with official_ops():
            yield
    finally:
        generator.memory_format = layout


def reference_video(generator: Generator, nets: MotionNetworks, source: Inversion, coefficients: torch.Tensor, size: int) -> torch.Tensor:
    """All frames one at a time, as IMAGE (N,size,size,3): official forms, NCHW, batch 1."""
    with _official_layout(generator):
        frames = [
            network_to_image(reference_frame(generator, nets, source, semantic_windows(coefficients, [i])), size)
            for i in range(len(coefficients))
        ]
    return torch.cat(frames)


@torch.no_grad()
def reference_inversion(generator: Generator, encoders: EncoderNetworks, source: torch.Tensor) -> EncodedInversion:
    """`invert` computed with the official forms of e4e, HFGI and StyleGAN, NCHW."""
    with _official_layout(generator):
        return invert(generator, encoders, source)


@torch.no_grad()
def reference_deep3d(deep3d: nn.Module, crops: torch.Tensor) -> torch.Tensor:
    """The Deep3D ResNet-50 on (B,3,224,224) crops with its official forms (batch norms as separate layers)."""
    with official_ops():
        return deep3d(crops)
