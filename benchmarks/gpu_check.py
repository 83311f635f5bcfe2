"""GPU correctness: the golden end-to-end case on CUDA in float32, and float16/bfloat16 against it.

    python benchmarks/gpu_check.py            (needs a CUDA device; prints one line per check)

The networks hold the golden recipe weights; the float32 run must pass the case's own tolerances,
the TF32 and half-precision runs are reported as relative errors of the final 1024² frames.
PyTorch lets cuDNN convolutions use TF32 by default; the golden tolerances hold with it switched off.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from styleheat_core.pipeline.forward import reenact  # noqa: E402
from styleheat_core.pipeline.inversion import invert  # noqa: E402
from tests.support.golden import GoldenCase  # noqa: E402
from tests.support.recipe_networks import recipe_networks  # noqa: E402


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
