"""GPU correctness: the golden end-to-end case on CUDA in float32, float16/bfloat16 against it, and CUDA graphs.

    python benchmarks/gpu_check.py            (needs a CUDA device; prints one line per check)

The networks hold the golden recipe weights; the float32 run must pass the case's own tolerances,
the TF32 and half-precision runs are reported as relative errors of the final 1024² frames.
PyTorch lets cuDNN convolutions use TF32 by default; the golden tolerances hold with it switched off.
Then a video of the golden coefficients is rendered by chunks replayed from CUDA graphs
(`FrameRenderer(cuda_graphs=True)`) and compared with the eager chunks, in float32 and bfloat16:
the frames must agree within the frame tolerance, and the ms per frame of both are printed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from styleheat_core.pipeline.decode import FrameRenderer, WarpedFeatures  # noqa: E402
from styleheat_core.pipeline.forward import reenact  # noqa: E402
from styleheat_core.pipeline.handles import LocalModel  # noqa: E402
from styleheat_core.pipeline.inversion import invert  # noqa: E402
from styleheat_core.pipeline.motion import CoefficientMotion  # noqa: E402
from styleheat_core.pipeline.source import SourceLatent  # noqa: E402
from tests.support.golden import GoldenCase  # noqa: E402
from tests.support.recipe_networks import Networks, recipe_inputs, recipe_networks  # noqa: E402

GRAPH_FRAMES = 24
# Largest |graphed - eager| accepted on raw frame values ([-1, 1]): the same kernels run in both.
GRAPH_TOLERANCE = 2e-4


@torch.no_grad()
def final_frames(case: GoldenCase, device: str, dtype: torch.dtype) -> tuple[torch.Tensor, float]:
    nets = recipe_networks().to(torch.device(device), dtype)
    source_u8 = case.input("in.source_u8")
    source = ((source_u8.permute(2, 0, 1).float() / 255 - 0.5) / 0.5).unsqueeze(0).to(device, dtype)
    windows = case.input("in.window_3dmm").to(device, dtype)
    torch.cuda.synchronize()
    start = time.perf_counter()
    frames = reenact(nets.generator, nets.motion, invert(nets.generator, nets.encoders, source), windows)
    torch.cuda.synchronize()
    return frames.float().cpu(), time.perf_counter() - start


def timed_pass(render: FrameRenderer, batch: int) -> tuple[torch.Tensor, float]:
    """Every frame once through `render` in chunks of `batch`; the frames (on the GPU) and ms per frame."""
    torch.cuda.synchronize()
    start = time.perf_counter()
    frames = torch.cat([raw for _, raw in render.chunks(range(GRAPH_FRAMES), batch)])
    torch.cuda.synchronize()
    return frames, (time.perf_counter() - start) * 1000 / GRAPH_FRAMES


@torch.no_grad()
def graphed_against_eager(nets: Networks, dtype: torch.dtype, batches: tuple[int, ...]) -> bool:
    """The golden video rendered eagerly and from CUDA graphs (second pass: replays only) with `nets` cast to
    `dtype` in place, at each batch size; prints the differences and speeds."""
    nets.to(torch.device("cuda"), dtype)
    source_image, coefficients = recipe_inputs(GRAPH_FRAMES)
    source = invert(nets.generator, nets.encoders, source_image.to("cuda", dtype))
    motion = LocalModel(nets.motion)
    features = WarpedFeatures(SourceLatent(source, LocalModel(nets.generator), None), CoefficientMotion(motion, coefficients), motion)
    agree = True
    for batch in batches:
        eager_render, graphed_render = features.renderer(nets.generator), features.renderer(nets.generator, cuda_graphs=True)
        timed_pass(eager_render, batch)
        eager, eager_ms = timed_pass(eager_render, batch)
        timed_pass(graphed_render, batch)  # eager, capture, replays
        graphed, graphed_ms = timed_pass(graphed_render, batch)
        difference = (graphed.float() - eager.float()).abs().max().item()
        agree &= difference <= GRAPH_TOLERANCE
        print(
            f"CUDA graphs, {str(dtype).removeprefix('torch.')} batch {batch}: {graphed_render.graph_status()}; max |graphed - eager| "
            f"{difference:.3g} ({'agree' if difference <= GRAPH_TOLERANCE else 'DIFFER'}); eager {eager_ms:.1f} ms/frame, "
            f"graphed {graphed_ms:.1f} ms/frame"
        )
    return agree


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device")
        return 1
    case = GoldenCase.load("end_to_end")
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    reference, seconds = final_frames(case, "cuda", torch.float32)
    case.check("out.fake_image", reference)
    print(f"float32 (TF32 off) on {torch.cuda.get_device_name()}: golden end_to_end out.fake_image within tolerance ({seconds:.2f} s, first call)")
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    frames, seconds = final_frames(case, "cuda", torch.float32)
    print(f"float32 with TF32: relative error vs strict float32 = {((frames - reference).norm() / reference.norm()).item():.5f} ({seconds:.2f} s)")
    for dtype in (torch.bfloat16, torch.float16):
        frames, seconds = final_frames(case, "cuda", dtype)
        finite = bool(torch.isfinite(frames).all())
        error = ((frames - reference).norm() / reference.norm()).item()
        print(f"{str(dtype).removeprefix('torch.')}: finite={finite} relative error of the final frames vs float32 = {error:.4f} ({seconds:.2f} s)")
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    nets = recipe_networks()
    agree = [graphed_against_eager(nets, torch.float32, (1, 4)), graphed_against_eager(nets, torch.bfloat16, (1, 16))]  # fp32 first: cast once
    return 0 if all(agree) else 1


if __name__ == "__main__":
    sys.exit(main())
