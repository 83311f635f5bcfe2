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

from styleheat_core.models.calibrator import CalibrationNet  # noqa: E402
from styleheat_core.models.e4e import Encoder4Editing  # noqa: E402
from styleheat_core.models.hfgi import ResidualAligner, ResidualEncoder  # noqa: E402
from styleheat_core.models.stylegan2 import Generator  # noqa: E402
from styleheat_core.models.warper import VideoWarper  # noqa: E402
from styleheat_core.pipeline.inversion import InversionNetworks, invert  # noqa: E402
from styleheat_core.pipeline.reenactment import MotionNetworks, render_frames, video_motion  # noqa: E402
from tests.support.golden import GoldenCase, network_state_dict  # noqa: E402


def _loaded(module: torch.nn.Module, network: str, device: str, dtype: torch.dtype, drop: tuple[str, ...] = ()) -> torch.nn.Module:
    module.load_state_dict({k: v for k, v in network_state_dict(network).items() if k not in drop}, strict=True)
    return module.eval().to(device, dtype)


def networks(device: str, dtype: torch.dtype) -> tuple[InversionNetworks, MotionNetworks]:
    inversion = InversionNetworks(
        _loaded(Generator(1024, 512, 8, channel_multiplier=2), "stylegan2", device, dtype),
        _loaded(Encoder4Editing(50, "ir_se", 1024), "e4e", device, dtype, drop=("latent_avg",)),
        network_state_dict("e4e")["latent_avg"].to(device, dtype),
        _loaded(ResidualAligner(), "hfgi_aligner", device, dtype),
        _loaded(ResidualEncoder(), "hfgi_encoder", device, dtype),
    )
    return inversion, MotionNetworks(_loaded(VideoWarper(), "video_warper", device, dtype), _loaded(CalibrationNet(64, 512, 512, 2, 1), "calibrator", device, dtype))


@torch.no_grad()
def final_frames(case: GoldenCase, device: str, dtype: torch.dtype) -> tuple[torch.Tensor, float]:
    inv_nets, motion_nets = networks(device, dtype)
    source_u8 = case.input("in.source_u8")
    source = ((source_u8.permute(2, 0, 1).float() / 255 - 0.5) / 0.5).unsqueeze(0).to(device, dtype)
    windows = case.input("in.window_3dmm").to(device, dtype)
    torch.cuda.synchronize()
    start = time.perf_counter()
    inversion = invert(inv_nets, source)
    frames = render_frames(inv_nets.generator, motion_nets.calibrator, inversion, video_motion(motion_nets, inversion, windows))
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
