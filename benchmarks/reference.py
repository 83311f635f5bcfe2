"""The official order of work (StyleHEAT.forward in inference.py's loop), used as the speed baseline.

Per frame, batch 1, fp32, NCHW activations: warper, the `video_warp_img` StyleGAN pass whose image
is never used, calibrator, final StyleGAN pass. Same networks and inputs as our path.
"""

from __future__ import annotations

import torch

from styleheat_core.models.stylegan2 import Generator
from styleheat_core.pipeline.decode import to_image
from styleheat_core.pipeline.inversion import Inversion
from styleheat_core.pipeline.reenactment import MotionNetworks, video_motion, warp_feature
from styleheat_core.preprocess.semantics import semantic_windows


@torch.no_grad()
def reference_frame(generator: Generator, nets: MotionNetworks, source: Inversion, window: torch.Tensor) -> torch.Tensor:
    """One raw 1024² frame exactly as official `StyleHEAT.forward` computes it, extra pass included."""
    motion = video_motion(nets, source, window)
    generator(source.w_plus, inversion_condition=source.condition, grids=motion.grids)  # video_warp_img: discarded
    refining = nets.calibrator(warp_feature(source.feature, motion.grids), motion.descriptor)
    return generator(
        source.w_plus, inversion_condition=source.condition, f_condition=source.feature, grids=motion.grids, refining_condition=refining
    ).image


def reference_video(generator: Generator, nets: MotionNetworks, source: Inversion, coefficients: torch.Tensor, size: int) -> torch.Tensor:
    """All frames one at a time, as IMAGE (N,size,size,3), with the generator in the NCHW layout of the official code."""
    layout = generator.memory_format
    generator.memory_format = torch.contiguous_format
    try:
        frames = [
            to_image(reference_frame(generator, nets, source, semantic_windows(coefficients, [i])), size) for i in range(len(coefficients))
        ]
    finally:
        generator.memory_format = layout
    return torch.cat(frames)
