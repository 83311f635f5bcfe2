"""Stage-1 run on a prepared dataset with the tiny VGG, for the torchrun equivalence test (also run as one process)."""

from __future__ import annotations

import argparse

import torch

from styleheat_core.train.data import PairDataset, PairOptions
from styleheat_core.train.engine import TrainConfig, train
from styleheat_core.train.stage1 import WarperStage
from tests.support.train_fakes import TinyVGG


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--accumulation", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    stage = WarperStage(TinyVGG())
    dataset = PairDataset(args.data, "train", PairOptions(64, mirror_probability=0.5))
    config = TrainConfig(args.out, args.steps, args.batch_size, args.accumulation, lr=1e-4, log_every=1, sample_every=10**9, save_every=10**9, workers=0, device="cpu")
    train(stage, dataset, config)


if __name__ == "__main__":
    main()
