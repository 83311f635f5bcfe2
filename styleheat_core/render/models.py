"""The model folder as the headless renderer reads it, one network at a time.

Each stage loads only what it runs and frees it afterwards (Deep3D for the motion, the encoders for
the inversion, then StyleGAN and the motion networks for the frames), so the peak memory is that of
the largest stage, not of every network together.
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..io.layouts import MODEL_FOLDER, official_file
from ..models.ops import cpu_computes_natively

MODELS_ENV = "STYLEHEAT_MODELS_DIR"
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
PRECISION_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

logger = logging.getLogger("styleheat")


@dataclass(frozen=True)
class ModelFolder:
    """A folder of official checkpoints (or their .safetensors twins)."""

    root: Path

    @classmethod
    def default(cls) -> "ModelFolder":
        return cls(Path(os.environ.get(MODELS_ENV, MODEL_FOLDER)).resolve())

    def file(self, key: str) -> Path:
        """The file of official checkpoint `key`, or an error that names it and how to get it."""
        spec = official_file(key)
        official = self.root / spec.filename
        for candidate in (official, official.with_suffix(".safetensors")):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(
            f"{spec.filename} ({spec.what}) is not in {self.root}; it comes from {spec.source}. "
            f"`python -m styleheat_core.download --dest {self.root}` fetches the missing files (or pass --models DIR)."
        )


def device_for(name: str) -> torch.device:
    """'auto' = this process's GPU under torchrun (LOCAL_RANK), the first GPU, or the CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def dtype_for(precision: str, device: torch.device) -> torch.dtype:
    """'auto' = fp16 on a GPU, fp32 on the CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got '{precision}'")
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return chosen_dtype(precision, device)


def chosen_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The dtype of an explicit precision (fp32, fp16, bf16); logs a warning when it is a reduced precision
    that this CPU only emulates (`cpu_computes_natively`: up to ten times slower than fp32)."""
    dtype = PRECISION_DTYPES[precision]
    if device.type == "cpu" and not cpu_computes_natively(dtype):
        logger.warning(
            "%s on this CPU is emulated (it lacks avx512_bf16/AMX-class instructions) and runs up to ten times slower "
            "than fp32; set the loader's precision to auto or fp32",
            precision,
        )
    return dtype


def release(device: torch.device) -> None:
    """Return the memory of networks that are no longer referenced."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()

