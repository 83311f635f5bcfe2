#!/usr/bin/env bash
# Issue #16's GPU checks in one device call: about 6 minutes on an H100/H200 (the device tool's
# `run` with command "bash benchmarks/gpu_session.sh", timeout_s 560). Needs only what the device
# image holds (torch, safetensors, einops, psutil, tqdm); the logs come back from $OUT.
#   1. benchmarks/gpu_check.py: the golden case in strict fp32, TF32/bf16/fp16 against it, and the
#      chunks replayed from CUDA graphs against the eager chunks (fp32 batch 1 and 4, bf16 batch 1 and 16).
#   2. benchmarks/run.py at 1024²: eager and CUDA-graph frames at batch 1 (fp32, TF32) and batch 16 (bf16),
#      then bf16 batch 16 with cuDNN's per-shape algorithm search, and in channels_last.
# Record the printed lines in benchmarks/RESULTS.md with the device named.
set -u -o pipefail
export PYTHONUNBUFFERED=1
out="${OUT:-/tmp/gpu_session}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$out/device.txt"
status=0
timeout 200 python3 benchmarks/gpu_check.py 2>&1 | tee "$out/gpu_check.txt" || status=1
run() { timeout 100 python3 benchmarks/run.py --device cuda --size 1024 --frames 32 --repeats 3 --cuda-graphs "$@"; }
{
    run --batch-sizes 1 --precisions fp32
    run --batch-sizes 1 --precisions fp32 --tf32
    run --batch-sizes 1,16 --precisions bf16
    run --batch-sizes 16 --precisions bf16 --cudnn-benchmark
    run --batch-sizes 16 --precisions bf16 --memory-format channels_last
} 2>&1 | tee "$out/run.txt" || status=1
exit $status
