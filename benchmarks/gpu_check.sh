#!/usr/bin/env bash
# One GPU check, under 5 minutes on an H100/H200: parity on CUDA, the ConvLSTM speed benchmark on
# CUDA, and a bf16 training run of the CLI on the GPU. Results land in ${OUT:-benchmarks/results}.
# Expects a python3 with torch (CUDA) and lightning; missing pure-Python packages (jsonargparse, ...)
# can be installed from wheels in .whl/ beside the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD/src:${PYTHONPATH:-} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 benchmarks/gpu_parity.py --out "$OUT/gpu_parity.json"
python3 benchmarks/convlstm_speed.py --device cuda --repeats 20 --warmup 5 --out "$OUT/convlstm_speed-cuda.json"
python3 -m cnnlstm fit --config synthetic-convlstm --trainer.accelerator=gpu --trainer.devices=1 \
  --trainer.precision=bf16-mixed --trainer.default_root_dir=/tmp/fit-gpu --quiet
python3 -c "import json,sys; s=json.load(open('/tmp/fit-gpu/summary.json')); print({k: s[k] for k in ('device','precision','fit_wall_time_s','fit_metrics')})"
cp /tmp/fit-gpu/summary.json "$OUT/fit-gpu-summary.json"
