#!/usr/bin/env bash
# One GPU check, under 5 minutes on an H100/H200: parity on CUDA, the ConvLSTM speed benchmark on
# CUDA, and a bf16 training run of the CLI on the GPU. Results land in ${OUT:-benchmarks/results}.
# Expected time (not yet measured with this benchmark): parity ~15 s, fit ~25 s, the benchmark
# ~2-3.5 min. Its cost is compilation: 3 configs (small, convlstm-s, 64x64) x 10 variants (reference
# fp32/tf32/bf16; cnnlstm fp32/tf32/bf16 eager and as a manual CUDA graph; cnnlstm bf16 under
# torch.compile(mode="reduce-overhead"), the only compiled one: ~30-90 s each on a cold cache; fp32/tf32
# compile are skipped here). --budget-s 150 skips compile variants not yet started after 150 s, and the
# line is cut at 240 s (timeout); the JSON is rewritten after every config, so it keeps what finished.
# Rows that fail (e.g. a capture this torch build rejects) carry "error" and the run goes on; the
# benchmark exits non-zero only if no row ran.
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
rc=0
timeout --kill-after=15 240 python3 benchmarks/convlstm_speed.py --device cuda \
  --configs small,convlstm-s,64x64 --skip "fp32 compile,tf32 compile" --repeats 20 --warmup 5 \
  --repeats-large 10 --warmup-large 3 --budget-s 150 --out "$OUT/convlstm_speed-cuda.json" || rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "convlstm_speed.py cut at 240 s; $OUT/convlstm_speed-cuda.json keeps the configs that finished" >&2
elif [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
python3 -m cnnlstm fit --config synthetic-convlstm --trainer.accelerator=gpu --trainer.devices=1 \
  --trainer.precision=bf16-mixed --trainer.default_root_dir=/tmp/fit-gpu --quiet
python3 -c "import json,sys; s=json.load(open('/tmp/fit-gpu/summary.json')); print({k: s[k] for k in ('device','accelerator','precision','fit_wall_time_s','fit_metrics')}); sys.exit(0 if s['accelerator'] == 'cuda' else 'the fit ran on ' + s['accelerator'] + ', not the GPU: not a GPU result')"
cp /tmp/fit-gpu/summary.json "$OUT/fit-gpu-summary.json"
