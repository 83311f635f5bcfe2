"""Reduced precision of the core networks: bfloat16 and float16 runs against float32 on the same weights.

Error of each output: ||low - fp32|| / ||fp32|| (relative L2, computed in float32). Tolerances are
about twice the errors measured on these inputs (CPU, torch 2.13):
  bfloat16 < 0.03: measured 0.015 (generator image), 0.013 (its 64² feature), 0.014 (e4e W+ codes),
                   0.005 (Deep3D coefficients);
  float16 < 0.005: measured 0.002 (generator image). Only the 64² generator runs in float16: CPU
                   float16 convolutions take PyTorch's slow reference path (about 25 s for it).
The generator is a seeded, randomly initialised 64² StyleGAN2 (channel_multiplier=1, the 64² hook
layer included); e4e (IR-SE50) and Deep3D (ResNet-50) carry the golden recipe weights.
"""

from __future__ import annotations

import copy
import logging
from functools import lru_cache

import pytest
import torch

from styleheat_core.models import ops
from styleheat_core.models.deep3d import INPUT_SIZE, Deep3DReconNet
from styleheat_core.models.e4e import Encoder4Editing
from styleheat_core.models.stylegan2 import Generator
from styleheat_core.render.models import dtype_for
from tests.support.golden import network_state_dict

TOLERANCE = {torch.bfloat16: 0.03, torch.float16: 0.005}


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _stylegan2() -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    generator = Generator(64, 512, 2, channel_multiplier=1)
    return generator, torch.randn(1, generator.n_latent, 512, generator=_seeded(1))


def _e4e() -> tuple[torch.nn.Module, torch.Tensor]:
    encoder = Encoder4Editing(50, "ir_se", 1024)
    encoder.load_state_dict({k: v for k, v in network_state_dict("e4e").items() if k != "latent_avg"}, strict=True)
    return encoder, torch.rand(1, 3, 256, 256, generator=_seeded(2)) * 2 - 1


def _deep3d() -> tuple[torch.nn.Module, torch.Tensor]:
    net = Deep3DReconNet()
    net.load_state_dict(network_state_dict("deep3d"), strict=True)
    return net, torch.rand(1, 3, INPUT_SIZE, INPUT_SIZE, generator=_seeded(3))


NETWORKS = {"stylegan2": _stylegan2, "e4e": _e4e, "deep3d": _deep3d}


@torch.no_grad()
def _outputs(net: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype) -> list[torch.Tensor]:
    result = copy.deepcopy(net).to(dtype).eval()(x.to(dtype))
    return list(result) if isinstance(result, tuple) else [result]


@lru_cache(maxsize=None)
def _reference(name: str) -> tuple[torch.nn.Module, torch.Tensor, list[torch.Tensor]]:
    net, x = NETWORKS[name]()
    return net, x, _outputs(net, x, torch.float32)


def _relative_errors(name: str, dtype: torch.dtype) -> list[float]:
    net, x, expected = _reference(name)
    actual = _outputs(net, x, dtype)
    assert [a.dtype for a in actual] == [dtype] * len(expected)
    assert all(torch.isfinite(a).all() for a in actual)
    return [((a.float() - e).norm() / e.norm()).item() for a, e in zip(actual, expected)]


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_bfloat16_matches_float32(name):
    errors = _relative_errors(name, torch.bfloat16)
    assert max(errors) < TOLERANCE[torch.bfloat16], errors


def test_float16_generator_is_finite_and_matches_float32():
    errors = _relative_errors("stylegan2", torch.float16)
    assert len(errors) == 2 and max(errors) < TOLERANCE[torch.float16], errors


def test_bf16_convolution_without_onednn_bf16_instructions_is_emulated_within_rounding(monkeypatch):
    """A CPU without avx512_bf16/AMX (AVX2-only AMD and Intel parts) makes oneDNN's bf16 convolution raise;
    conv2d then computes through F.conv2d, and both ways agree with fp32 within bf16 rounding."""
    x = torch.randn(2, 16, 12, 12, generator=_seeded(3)).contiguous(memory_format=torch.channels_last)
    weight, bias = torch.randn(8, 16, 3, 3, generator=_seeded(4)) * 0.1, torch.randn(8, generator=_seeded(5))
    expected = ops.conv2d(x, weight, bias, padding=1, negative_slope=0.2)
    outputs = {}
    for native in (False, ops.cpu_computes_natively(torch.bfloat16)):
        monkeypatch.setattr(ops, "cpu_computes_natively", lambda dtype, native=native: native)
        outputs[native] = ops.conv2d(x.bfloat16(), weight.bfloat16(), bias.bfloat16(), padding=1, negative_slope=0.2)
    for out in outputs.values():
        assert out.dtype == torch.bfloat16 and out.shape == expected.shape
        assert ((out.float() - expected).norm() / expected.norm()).item() < 0.01


@pytest.mark.parametrize("native", [False, True])
def test_loaders_warn_when_the_cpu_only_emulates_the_chosen_precision(native, monkeypatch, caplog):
    monkeypatch.setattr("styleheat_core.render.models.cpu_computes_natively", lambda dtype: native or dtype == torch.float32)
    with caplog.at_level(logging.WARNING, logger="styleheat"):
        assert dtype_for("bf16", torch.device("cpu")) == torch.bfloat16
        assert dtype_for("fp32", torch.device("cpu")) == torch.float32
        assert dtype_for("auto", torch.device("cpu")) == torch.float32
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == ([] if native else [warnings[0]])
    assert native or ("bf16" in warnings[0] and "fp32" in warnings[0])
