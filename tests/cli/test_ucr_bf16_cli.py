"""`cnnlstm fit/test/predict --trainer.precision bf16-mixed` on a CPU with the time-series presets.

Lightning's bf16-mixed on a CPU is ``torch.autocast("cpu", dtype=torch.bfloat16)`` around the
steps. The runs must train, test and predict end to end, keep float32 weights in the checkpoint,
and give eval logits within bf16's rounding of the float32 logits of the same weights (the
tolerance is argued in ``tests/models/test_sensor_bf16.py``).
"""

from __future__ import annotations

import csv
import json

import pytest
import torch

pytest.importorskip("sktime")

from cnnlstm.cli import main  # noqa: E402
from cnnlstm.tasks import ClassificationTask  # noqa: E402
from cnnlstm.training.checkpoint_io import safe_torch_load  # noqa: E402

pytestmark = pytest.mark.slow  # real commands, training included: a few seconds each

U = 2.0**-8  # bf16's unit roundoff
BF16 = [
    "--trainer.precision=bf16-mixed",
    "--trainer.max_epochs=1",
    "--model.init_args.model_kwargs={}",
    "--quiet",
]


@pytest.mark.parametrize(
    ("preset", "model", "dataset", "extra"),
    [
        ("ucr-lstm_fcn", "lstm_fcn_tiny", "BasicMotions", []),  # equal lengths: plain BatchNorm
        ("ucr-cnn_bilstm", "cnn_bilstm_tiny", "JapaneseVowels", ["--data.batch_size=64"]),  # padded: masked
    ],
)
def test_bf16_mixed_fit_test_predict(preset, model, dataset, extra, tmp_path):
    root = tmp_path / "run"
    common = [
        "--config",
        preset,
        f"--trainer.default_root_dir={root}",
        f"--model.init_args.name={model}",
        f"--data.name={dataset}",
        *extra,
        *BF16,
    ]
    assert main(["fit", *common]) == 0
    assert main(["test", "--ckpt_path", "best", *common]) == 0
    assert main(["predict", "--ckpt_path", "best", *common]) == 0
    summary = json.loads((root / "summary.json").read_text())
    assert summary["precision"] == "bf16-mixed"
    assert 0 <= summary["test_metrics"]["test/acc"] <= 1

    checkpoint = safe_torch_load(summary["test_checkpoint"])
    floats = {t.dtype for t in checkpoint["state_dict"].values() if t.is_floating_point()}
    assert floats == {torch.float32}  # autocast never touches the weights

    with open(root / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    probabilities = [key for key in rows[0] if key.startswith("p_")]
    for row in rows:  # float32 probabilities, written with 6 decimals
        assert abs(sum(float(row[p]) for p in probabilities) - 1) <= 1e-6 * len(probabilities)

    # The trained weights in eval mode: bf16 logits are float32 logits within bf16's rounding.
    task = ClassificationTask.from_checkpoint_file(summary["test_checkpoint"])
    torch.manual_seed(0)
    steps, channels = checkpoint["hyper_parameters"]["input_shape"]
    x = torch.randn(8, steps, channels)
    lengths = torch.full((8,), steps).index_fill(0, torch.tensor([1, 5]), max(1, steps // 2))
    with torch.no_grad():
        ref = task(x, lengths)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = task(x, lengths)
    assert float((out.float() - ref).abs().max() / ref.abs().max()) <= 12 * U
