"""Motion networks beyond the golden values: official layouts, reduced precision, and the AudioWarper.

Reduced-precision runs use small inputs (a 64² image, a 16² feature crop): on CPU, PyTorch runs
float16 convolutions through its slow reference path (the full 64² calibrator takes minutes there).
Measured worst relative errors on these inputs (max |Δ| / max |fp32|): bfloat16 0.031 (flow),
0.033 (calibrator maps); float16 0.016 and 0.016. At full size bfloat16 gave 0.032 and 0.047.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from styleheat_core.models.calibrator import CalibrationNet
from styleheat_core.models.warper import AudioWarper, MappingNet, VideoWarper
from tests.support.golden import GoldenCase, manifest, network_state_dict

# dtype -> (max |Δ| / max |fp32|, mean |Δ| / mean |fp32|), about twice the measured errors.
PRECISION_TOLERANCE = {torch.bfloat16: (0.08, 0.06), torch.float16: (0.04, 0.03)}
AUDIO_PREFIXES = {"mapping_net.": "audio_encoder.", "warping_net.": "warpping_net."}


def _calibrator() -> CalibrationNet:
    return CalibrationNet(out_size=64, input_channel=512, num_style_feat=512, channel_multiplier=2, narrow=1)


NETWORKS = {"video_warper": VideoWarper, "calibrator": _calibrator}


def _loaded(network: str) -> torch.nn.Module:
    module = NETWORKS[network]()
    module.load_state_dict(network_state_dict(network), strict=True)
    return module.eval()


def _layout(module: torch.nn.Module) -> list[tuple[str, list[int]]]:
    return [(key, list(value.shape)) for key, value in module.state_dict().items()]


def _audio_key(video_key: str) -> str:
    prefix = next(p for p in AUDIO_PREFIXES if video_key.startswith(p))
    return AUDIO_PREFIXES[prefix] + video_key[len(prefix) :]


def _audio_layout_from_video_manifest() -> list[tuple[str, list[int]]]:
    """The official AudioWarper differs from the VideoWarper only in names and 80 mel input channels."""
    layout = []
    for key, entry in manifest("video_warper")["keys"].items():
        shape = [256, 80, 7] if key == "mapping_net.first.0.weight" else entry["shape"]
        layout.append((_audio_key(key), shape))
    return layout


def _warper_inputs(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The golden warper image resized to size², and its 3DMM window."""
    case = GoldenCase.load("video_warper")
    image = F.interpolate(case.input("in.image"), size=(size, size), mode="bilinear", align_corners=False)
    return image, case.input("in.window_3dmm")


def _small_inputs(network: str) -> tuple[torch.Tensor, torch.Tensor]:
    if network == "video_warper":
        return _warper_inputs(64)
    case = GoldenCase.load(network)
    return case.input("in.feature")[:, :, :16, :16], case.input("in.descriptor")


def _outputs(network: str, result) -> list[torch.Tensor]:
    return [result.flow, result.descriptor] if network == "video_warper" else list(result)


@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_state_dict_layout_matches_the_manifest(network):
    expected = [(key, entry["shape"]) for key, entry in manifest(network)["keys"].items()]
    assert _layout(NETWORKS[network]()) == expected


def test_audio_warper_layout_is_the_video_warper_with_official_names():
    assert _layout(AudioWarper()) == _audio_layout_from_video_manifest()


@pytest.mark.parametrize("dtype", sorted(PRECISION_TOLERANCE, key=str), ids=str)
@pytest.mark.parametrize("network", sorted(NETWORKS))
@torch.no_grad()
def test_reduced_precision_forward_stays_close_to_float32(network, dtype):
    module = _loaded(network)
    inputs = _small_inputs(network)
    reference = _outputs(network, module(*inputs))
    low = _outputs(network, module.to(dtype)(*(x.to(dtype) for x in inputs)))
    max_tol, mean_tol = PRECISION_TOLERANCE[dtype]
    for index, (ours, ref) in enumerate(zip(low, reference)):
        assert ours.dtype == dtype and ours.shape == ref.shape
        diff = (ours.float() - ref).abs()
        assert diff.max() <= max_tol * ref.abs().max(), f"output {index}: max diff {diff.max():.4g} vs absmax {ref.abs().max():.4g}"
        assert diff.mean() <= mean_tol * ref.abs().mean(), f"output {index}: mean diff {diff.mean():.4g} vs mean {ref.abs().mean():.4g}"


def test_mapping_net_accepts_the_official_window_lengths_and_rejects_shorter_ones():
    mapping = MappingNet(80)
    for length in (25, 27, 32):
        assert mapping(torch.randn(2, 80, length)).shape == (2, 256, 1)
    with pytest.raises(ValueError, match=r"\(B, 80, T\) with T >= 25"):
        mapping(torch.randn(2, 80, 24))
    with pytest.raises(ValueError, match=r"\(B, 80, T\)"):
        mapping(torch.randn(2, 73, 32))


@torch.no_grad()
def test_audio_warper_is_the_video_warper_with_the_upper_flow_zeroed():
    video = _loaded("video_warper")
    audio = AudioWarper(mel_channels=73).eval()
    weights = network_state_dict("video_warper")
    audio.load_state_dict({_audio_key(key): value for key, value in weights.items()}, strict=True)
    image, window = _warper_inputs(128)
    expected, ours = video(image, window), audio(image, window)
    torch.testing.assert_close(ours.descriptor, expected.descriptor, rtol=0, atol=0)
    torch.testing.assert_close(ours.flow[:, :, 16:], expected.flow[:, :, 16:], rtol=0, atol=0)
    assert expected.flow[:, :, :16].abs().min() > 0 and not ours.flow[:, :, :16].any()


def test_audio_warper_shapes_zeroed_upper_half_and_gradients():
    torch.manual_seed(0)
    warper = AudioWarper()
    image = (torch.rand(2, 3, 256, 256) * 2 - 1).requires_grad_()
    mel = torch.randn(2, 80, 32, requires_grad=True)
    flow, descriptor = warper(image, mel)
    assert flow.shape == (2, 2, 64, 64) and descriptor.shape == (2, 256, 1)
    assert not flow[:, :, :32].any() and flow[:, :, 32:].abs().min() > 0
    params = list(warper.parameters())
    lower = torch.autograd.grad(flow[:, :, 32:].square().mean(), [image, mel, *params], retain_graph=True)
    assert all(g.isfinite().all() for g in lower)
    assert image.shape == lower[0].shape and lower[0].abs().sum() > 0 and lower[1].abs().sum() > 0
    assert sum(int(g.abs().sum() > 0) for g in lower[2:]) == len(params)
    upper = torch.autograd.grad(flow[:, :, :32].sum(), [image, mel])
    assert not upper[0].any() and not upper[1].any()


def test_wrong_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="multiples of 32"):
        VideoWarper()(torch.zeros(1, 3, 100, 100), torch.zeros(1, 73, 27))
    calibrator = _calibrator()
    with pytest.raises(ValueError, match=r"\(B, 512, H, W\) feature with H and W multiples of 16"):
        calibrator(torch.zeros(1, 256, 64, 64), torch.zeros(1, 256, 1))
    with pytest.raises(ValueError, match=r"descriptor must be \(B, 256, 1\)"):
        calibrator(torch.zeros(1, 512, 16, 16), torch.zeros(1, 73, 1))
