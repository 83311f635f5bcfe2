"""Metrics: the paper's quality metrics of a render against reference frames, beside the graph."""

from __future__ import annotations

import json

import numpy as np
import torch

from ..styleheat_core.evaluate.compare import compare_frames
from ..styleheat_core.evaluate.networks import load_metric_networks
from ..styleheat_core.evaluate.report import as_json, table
from ..styleheat_core.io.layouts import official_file
from ..styleheat_core.preprocess.images import to_rgb_uint8
from . import comfy
from .types import CATEGORY


def _frames(images: torch.Tensor, what: str) -> np.ndarray:
    """IMAGE (B,H,W,C) in [0, 1] -> (B,H,W,3) uint8; non-finite or out-of-range pixels are refused."""
    if images.dim() != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{what} must be an IMAGE batch (B, H, W, 3); got shape {tuple(images.shape)}")
    array = images.detach().float().cpu().numpy()
    return np.stack([to_rgb_uint8(frame, f"{what} frame {index}") for index, frame in enumerate(array)])


def _locate(key: str):
    return comfy.resolve(official_file(key).filename, key)


class Metrics:
    """PSNR and SSIM, and optionally LPIPS (AlexNet), CSIM (ArcFace) and FID, of generated frames against reference frames."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "generated": ("IMAGE", {"tooltip": "the frames to judge (e.g. StyleGAN Decode's output)"}),
                "reference": ("IMAGE", {"tooltip": "the real frames, as many as generated, aligned the same way (e.g. Video Crop of the driving video)"}),
                "lpips": ("BOOLEAN", {"default": True, "tooltip": "LPIPS v0.1 AlexNet; needs metrics/alexnet-owt-7be5be79.pth and metrics/alex.pth"}),
                "csim": ("BOOLEAN", {"default": False, "tooltip": "ArcFace identity similarity of each frame pair (FFHQ-aligned faces); needs metrics/model_ir_se50.pth"}),
                "fid": ("BOOLEAN", {"default": False, "tooltip": "FID over all frames; needs metrics/pt_inception-2015-12-05-6726825d.pth (meaningful only over thousands of frames)"}),
                "resize": ("BOOLEAN", {"default": False, "tooltip": "resize the generated frames to the reference's resolution instead of refusing different sizes"}),
            },
            "hidden": {"node_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = ("STRING", "STRING")
    RETURN_NAMES = ("table", "json")
    OUTPUT_TOOLTIPS = ("the results as a text table", "the results, settings and per-frame means as JSON")
    FUNCTION = "run"
    CATEGORY = f"{CATEGORY}/evaluation"
    DESCRIPTION = __doc__

    def run(self, generated: torch.Tensor, reference: torch.Tensor, lpips: bool, csim: bool, fid: bool, resize: bool, node_id=None):
        metrics = ("psnr", "ssim") + tuple(name for name, chosen in (("lpips", lpips), ("fid", fid), ("csim", csim)) if chosen)
        pred, ref = _frames(generated, "generated"), _frames(reference, "reference")
        device = comfy.device()
        nets = load_metric_networks(_locate, metrics, device)
        report = compare_frames(pred, ref, nets, metrics, resize, device=device, name="generated vs reference", on_progress=comfy.progress(len(pred), node_id))
        return (table(report), json.dumps(as_json(report), indent=1))


NODES = {"StyleHEAT_Metrics": (Metrics, "Metrics")}
