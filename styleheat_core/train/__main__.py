"""Command line: `python -m styleheat_core.train {prepare,stage1,stage2,audio} ...` (under torchrun for several GPUs/nodes).

Weights are read from a StyleHEAT model folder (`--models`, the ComfyUI models/styleheat layout:
StyleGAN_e4e.pth, Encoder_e4e.pth, hfgi.pth, stylegan2_d_256.pth, vgg19.pth, Deep3D/epoch_20.pth,
BFM/similarity_Lm3D_all.mat).
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from ..io.layouts import official_file
from ..io.loaders import load_deep3d, load_discriminator, load_encoder_networks, load_standard_landmarks, load_stylegan, load_vgg19
from ..models.perceptual import PerceptualLoss
from ..pipeline.inversion import invert
from ..preprocess.landmarks import DlibBackend
from .audio_warper import AudioStage
from .checkpoint import load_video_warper, styleheat_networks
from .data import PairDataset, PairOptions
from .engine import TrainConfig, init_process, train
from .prepare import PrepareOptions, deep3d_coefficients, prepare_dataset, summary
from .stage1 import WarperStage
from .stage2 import CalibrationStage, FrozenNetworks


def _model(models: Path, key: str) -> Path:
    return models / official_file(key).filename


def _train_arguments(parser: argparse.ArgumentParser, batch: int, image_size: int) -> None:
    parser.add_argument("--data", required=True, type=Path, help="folder written by `prepare`")
    parser.add_argument("--out", required=True, type=Path, help="run folder: checkpoints/, samples/, log.jsonl")
    parser.add_argument("--models", required=True, type=Path, help="StyleHEAT model folder (vgg19.pth and the stage's networks)")
    parser.add_argument("--steps", type=int, required=True, help="iterations to train to (a resumed run continues up to it)")
    parser.add_argument("--batch-size", type=int, default=batch, help=f"pairs per process and micro-batch (official {batch} per GPU)")
    parser.add_argument("--accumulation", type=int, default=1, help="micro-batches per optimiser step")
    parser.add_argument("--image-size", type=int, default=image_size, help=f"training resolution (official {image_size})")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--resume", default=None, help="a checkpoint to resume from, or 'auto' (the run's latest.pt if any)")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--sample-every", type=int, default=1000)
    parser.add_argument("--save-every", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4, help="data-loading processes per training process")
    parser.add_argument("--device", default=None, help="default: cuda:LOCAL_RANK when available, else cpu")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (pairs are a function of seed and sample index)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m styleheat_core.train", description="StyleHEAT training.")
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("prepare", help="crop, landmarks, 3DMM, aligned copies, mel -> sharded dataset")
    prepare.add_argument("--videos", required=True, type=Path, help="<videos>/<identity>/.../<clip>.mp4")
    prepare.add_argument("--out", required=True, type=Path)
    prepare.add_argument("--models", required=True, type=Path, help="model folder with Deep3D/epoch_20.pth and BFM/similarity_Lm3D_all.mat")
    prepare.add_argument("--size", type=int, default=256, help="crop side: 256 (stage 1, VoxCeleb) or 512 (stage 2, HDTF; adds aligned copies)")
    prepare.add_argument("--test-fraction", type=float, default=0.1, help="share of identities held out")
    prepare.add_argument("--max-frames", type=int, default=None)
    prepare.add_argument("--retry-failed", action="store_true", help="try the videos recorded as failed again")
    prepare.add_argument("--predictor", type=Path, default=None, help="dlib 68-point predictor (default: face-recognition-models)")
    prepare.add_argument("--device", default="cpu", help="device of the Deep3D network")
    stage1 = commands.add_parser("stage1", help="video warper (VGG19 perceptual loss on warped images)")
    _train_arguments(stage1, 16, 256)
    stage2 = commands.add_parser("stage2", help="calibration network over the frozen StyleGAN2")
    _train_arguments(stage2, 4, 512)
    stage2.add_argument("--warper", required=True, type=Path, help="stage-1 checkpoint (net_G_ema)")
    stage2.add_argument("--finetune-warper", action="store_true", help="also train the video warper (official: frozen)")
    audio = commands.add_parser("audio", help="audio warper on pairs synthesised by the trained video warper")
    _train_arguments(audio, 16, 256)
    audio.add_argument("--warper", required=True, type=Path, help="stage-1 or stage-2 checkpoint holding the video warper")
    audio.add_argument("--no-perceptual", action="store_true", help="L1 only on the lower half")
    return parser


def _config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        str(args.out), args.steps, args.batch_size, args.accumulation, args.lr, bf16=args.bf16, log_every=args.log_every,
        sample_every=args.sample_every, save_every=args.save_every, workers=args.workers, device=args.device,
    )


def run(args: argparse.Namespace) -> None:
    """Execute one parsed command."""
    if args.command == "prepare":
        net = load_deep3d(_model(args.models, "deep3d"), args.device)
        coefficients = deep3d_coefficients(net, load_standard_landmarks(_model(args.models, "bfm_landmarks")))
        options = PrepareOptions(args.size, test_fraction=args.test_fraction, max_frames=args.max_frames, retry_failed=args.retry_failed)
        manifest = prepare_dataset(args.videos, args.out, coefficients, options, DlibBackend(args.predictor))
        print(summary(manifest))
        return
    device = init_process(args.device).device
    vgg = load_vgg19(_model(args.models, "vgg19"), device)
    if args.command == "stage1":
        stage = WarperStage(vgg)
        options = PairOptions(args.image_size, mirror_probability=0.5, seed=args.seed)
    elif args.command == "stage2":
        generator = load_stylegan(_model(args.models, "stylegan"), device)
        encoders = load_encoder_networks(_model(args.models, "e4e"), _model(args.models, "hfgi"), device)
        frozen = FrozenNetworks(generator, functools.partial(invert, generator, encoders), load_discriminator(_model(args.models, "discriminator"), device))
        calibrator = styleheat_networks()["calibrator"]
        stage = CalibrationStage(load_video_warper(args.warper), calibrator, frozen, vgg, args.image_size, args.finetune_warper)
        options = PairOptions(args.image_size, aligned=True, seed=args.seed)
    else:
        stage = AudioStage(load_video_warper(args.warper), None if args.no_perceptual else PerceptualLoss(vgg))
        options = PairOptions(args.image_size, mel=True, seed=args.seed)
    train(stage, PairDataset(args.data, "train", options), _config(args), args.resume)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        run(args)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
