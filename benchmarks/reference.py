"""The official order of work (StyleHEAT.forward in inference.py's loop), used as the speed baseline.

Per frame, batch 1, fp32, NCHW activations: the official forward with its `video_warp_img` StyleGAN
pass, whose image is never used. Same networks, inputs and StyleHEAT forward as our path; only the
order of work differs.
"""

from __future__ import annotations

import torch

from styleheat_core.models.stylegan2 import Generator
from styleheat_core.pipeline.forward import MotionNetworks, styleheat_forward
from styleheat_core.pipeline.image_format import network_to_image
from styleheat_core.pipeline.inversion import Inversion
from styleheat_core.preprocess.semantics import semantic_windows


@torch.no_grad()
def reference_video(generator: Generator, nets: MotionNetworks, source: Inversion, coefficients: torch.Tensor, size: int) -> torch.Tensor:
    """All frames one at a time, as IMAGE (N,size,size,3), with the generator in the NCHW layout of the official code."""
    layout = generator.memory_format
    generator.memory_format = torch.contiguous_format
    try:
        frames = [
            network_to_image(styleheat_forward(generator, nets, source, semantic_windows(coefficients, [i]), with_warped=True).frames, size)
            for i in range(len(coefficients))
        ]
    finally:
        generator.memory_format = layout
    return torch.cat(frames)
