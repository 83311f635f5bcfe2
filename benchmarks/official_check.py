"""Check benchmarks/reference.py against the real official code: same cost, same frames; and time the inversion.

    python benchmarks/official_check.py --official PATH [--frames 2] [--repeats 2]

PATH is a checkout of OpenTalker/StyleHEAT (commit 9cb0c7c). Its two compiled CUDA ops are replaced by
their plain-PyTorch reference forms (tests/support/official_ops.py: rosinality's `upfirdn2d_native` and
the CPU fused leaky ReLU), every other line is the official code: `StyleHEAT.forward` with the official
VideoWarper, CalibrationNet and HFGI/StyleGAN2 modules, and `HFGI.inverse` for the inversion, as
`inference.py` calls it (gradients enabled: the official loop only wraps the per-frame forward in
`no_grad`). Modules that the per-frame path and the inversion never run are stubbed (the VGG loss
builder, torchvision helpers). All networks get the golden recipe weights (official key names), fp32,
batch 1, NCHW, on the CPU.

Prints, per frame: the official code, `reference.py`, our node path (`decode_video`, chunk 4), the
largest frame differences; per source: official `HFGI.inverse` (as run, and under no_grad) and ours
(`invert`).
"""

from __future__ import annotations

import argparse
import platform
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from measure import measure
from reference import reference_video
from run import video_features

from styleheat_core.allocator import keep_freed_memory
from styleheat_core.pipeline.decode import decode_video
from styleheat_core.pipeline.image_format import network_to_image
from styleheat_core.pipeline.inversion import invert
from styleheat_core.preprocess.semantics import semantic_windows
from tests.support.golden import network_state_dict
from tests.support.official_ops import fused_leaky_relu_native, upfirdn2d_native
from tests.support.recipe_networks import recipe_inputs, recipe_networks


class _NativeFusedLeakyReLU(nn.Module):
    """rosinality's FusedLeakyReLU module (parameter `bias`) over the CPU function."""

    def __init__(self, channel: int, negative_slope: float = 0.2, scale: float = 2**0.5):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channel))
        self.negative_slope = negative_slope
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu_native(x, self.bias, self.negative_slope, self.scale)


def _stub(name: str, **attributes) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


def import_official(root: Path) -> SimpleNamespace:
    """The official classes, with the CUDA ops replaced by their CPU reference forms."""
    _stub(
        "models.stylegan2.op",
        FusedLeakyReLU=_NativeFusedLeakyReLU,
        fused_leaky_relu=lambda x, bias, negative_slope=0.2, scale=2**0.5: fused_leaky_relu_native(x, bias, negative_slope, scale),
        upfirdn2d=lambda x, kernel, up=1, down=1, pad=(0, 0): upfirdn2d_native(x, kernel, up, down, tuple(pad)),
    )
    _stub("loss.iterative_inversion_loss", EmbeddingLossBuilder=nn.Identity)  # VGG loss of optimisation inversion only
    _stub("utils.common", tensor2img=None)  # image-saving helper (imports torchvision)
    sys.path.insert(0, str(root))
    from models.hfgi.hfgi import HFGI
    from models.styleheat.calibration_net import CalibrationNet
    from models.styleheat.styleheat import StyleHEAT
    from models.styleheat.warper import VideoWarper

    return SimpleNamespace(HFGI=HFGI, CalibrationNet=CalibrationNet, StyleHEAT=StyleHEAT, VideoWarper=VideoWarper)


def official_model(official: SimpleNamespace) -> nn.Module:
    """An official StyleHEAT (inference mode, no audio) holding the recipe weights; its checkpoint loader is bypassed."""
    model = official.StyleHEAT.__new__(official.StyleHEAT)
    nn.Module.__init__(model)
    model.video_warper = official.VideoWarper()
    model.calibrator = official.CalibrationNet(out_size=64, input_channel=512, num_style_feat=512, channel_multiplier=2, narrow=1)
    model.generator = official.HFGI()
    model.enable_audio = False
    hfgi = model.generator
    hfgi.stylegan.load_state_dict(network_state_dict("stylegan2"), strict=True)
    e4e = dict(network_state_dict("e4e"))
    hfgi.e4e_encoder.latent_avg = e4e.pop("latent_avg")
    hfgi.e4e_encoder.encoder.load_state_dict(e4e, strict=True)
    hfgi.hfgi_aligner.load_state_dict(network_state_dict("hfgi_aligner"), strict=True)
    hfgi.hfgi_encoder.load_state_dict(network_state_dict("hfgi_encoder"), strict=True)
    model.video_warper.load_state_dict(network_state_dict("video_warper"), strict=True)
    model.calibrator.load_state_dict(network_state_dict("calibrator"), strict=True)
    network_state_dict.cache_clear()
    return model.eval()


def official_video(model: nn.Module, inv_data: tuple, coefficients: torch.Tensor) -> torch.Tensor:
    """inference.py's reenactment loop at batch 1: `StyleHEAT.forward` per frame under no_grad, as IMAGE."""
    frames = []
    with torch.no_grad():
        for i in range(len(coefficients)):
            output = model.forward(None, semantic_windows(coefficients, [i]), inv_data=inv_data, imsize=1024)
            frames.append(network_to_image(output["fake_image"], 1024))
    return torch.cat(frames)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official", type=Path, required=True, help="checkout of OpenTalker/StyleHEAT")
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep-freed-memory", action="store_true")
    args = parser.parse_args(argv)
    if args.keep_freed_memory:
        keep_freed_memory()
    device = torch.device("cpu")
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads; frames {args.frames}"
    )
    model = official_model(import_official(args.official))
    nets = recipe_networks()
    source, coefficients = recipe_inputs(args.frames)
    x256 = torch.nn.functional.interpolate(source, size=(256, 256), mode="bilinear", align_corners=False)

    inversion_runs = {
        "official HFGI.inverse (as inference.py runs it, gradients on)": lambda: model.generator.inverse(source),
        "official HFGI.inverse under no_grad": lambda: torch.no_grad()(model.generator.inverse)(source),
        "ours (invert)": lambda: invert(nets.generator, nets.encoders, source),
    }
    for fn in inversion_runs.values():
        fn()
    best = {name: min(measure(fn, device).seconds for _ in range(args.repeats)) for name, fn in inversion_runs.items()}
    for name, seconds in best.items():
        print(f"inversion, {name}: {seconds * 1000:.0f} ms")
    print(f"inversion speed-up vs official as run: {best[next(iter(best))] / best['ours (invert)']:.2f}x")

    with torch.no_grad():
        ix, wx, fx, condition = model.generator.inverse(x256)
    ours = invert(nets.generator, nets.encoders, source)
    print(f"W+ max |diff| official vs ours: {(wx - ours.w_plus).abs().max().item():.3g}")
    inv_data = (ix, wx, fx, condition)
    features = video_features(nets, ours, coefficients)
    runs = {
        "official StyleHEAT.forward": lambda: official_video(model, inv_data, coefficients),
        "benchmarks/reference.py": lambda: reference_video(nets.generator, nets.motion, ours, coefficients, 1024),
        "ours (decode_video, chunk 4)": lambda: decode_video(nets.generator, features, 1024, 4),
    }
    for fn in runs.values():
        fn()
    results = {name: [] for name in runs}
    for _ in range(args.repeats):  # alternate, so that other jobs slow all three alike
        for name, fn in runs.items():
            results[name].append(measure(fn, device))
    best_runs = {name: min(ms, key=lambda m: m.seconds) for name, ms in results.items()}
    for name, m in best_runs.items():
        print(f"per frame, {name}: {m.seconds * 1000 / args.frames:.0f} ms")
    names = list(runs)
    official, reference, ours_frames = (best_runs[n].result for n in names)
    print(
        f"frames max |diff|: official vs reference {(official - reference).abs().max().item():.3g}, official vs ours {(official - ours_frames).abs().max().item():.3g}"
    )
    print(f"reference cost / official cost: {best_runs[names[1]].seconds / best_runs[names[0]].seconds:.2f}")
    print(f"official / ours: {best_runs[names[0]].seconds / best_runs[names[2]].seconds:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
