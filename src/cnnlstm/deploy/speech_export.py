"""ONNX export of a speech recogniser's acoustic model, for utterances of any length.

:func:`export_acoustic_model` writes ``acoustic_model.onnx`` (input ``features`` ``(batch, time,
n_mels)``, output ``log_probs`` ``(batch, frames, vocabulary)``; batch and time dynamic) and
``vocabulary.json`` (the tokens, the CTC blank first, and the feature settings), and checks the
ONNX file in onnxruntime against eager PyTorch on batches of other sizes and lengths than the
export example.

Why not :func:`cnnlstm.deploy.export_model`'s graph: :class:`cnnlstm.nn.LSTM` runs its recurrence
as a Python loop, which ``torch.export`` unrolls for the example's length, and torch's
``dynamo`` ONNX exporter decomposes ``torch.nn.LSTM`` into such a loop too. Here every
:class:`cnnlstm.nn.LSTM` is replaced by a ``torch.nn.LSTM`` holding the same weights (the two
share their state-dict layout; the swap is checked to give the same outputs), and the
TorchScript-based exporter (deprecated by torch but still shipped) writes ONNX's own ``LSTM``
operator, whose sequence length is dynamic.
"""

from __future__ import annotations

import copy
import json
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._io import atomic_write_json
from cnnlstm.deploy._common import require
from cnnlstm.nn import LSTM

__all__ = ["ACOUSTIC_MODEL_FILE", "VOCABULARY_FILE", "export_acoustic_model"]

ACOUSTIC_MODEL_FILE = "acoustic_model.onnx"
VOCABULARY_FILE = "vocabulary.json"
REPORT_FILE = "acoustic_model_report.json"


class _TorchLSTM(nn.LSTM):
    """``torch.nn.LSTM`` that accepts (and requires to be None) the ``lengths`` keyword of :class:`cnnlstm.nn.LSTM`."""

    def forward(self, input: Tensor, hx: Any = None, *, lengths: Tensor | None = None) -> Any:  # type: ignore[override]
        if lengths is not None:
            raise ValueError("the exported acoustic model takes unpadded batches (no lengths)")
        return super().forward(input, hx)


def with_torch_lstms(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every :class:`cnnlstm.nn.LSTM` replaced by a ``torch.nn.LSTM`` of the same weights."""
    model = copy.deepcopy(model)

    def swap(module: nn.Module) -> None:
        for name, child in module.named_children():
            if isinstance(child, LSTM):
                replacement = _TorchLSTM(
                    child.input_size,
                    child.hidden_size,
                    num_layers=child.num_layers,
                    bias=child.bias,
                    batch_first=child.batch_first,
                    dropout=child.dropout,
                    bidirectional=child.bidirectional,
                    proj_size=child.proj_size,
                )
                replacement.load_state_dict(child.state_dict())
                setattr(module, name, replacement.to(next(child.parameters()).device))
            else:
                swap(child)

    swap(model)
    return model


def export_acoustic_model(
    model: nn.Module,
    *,
    output_dir: str | Path,
    vocabulary: Sequence[str],
    preprocessing: Mapping[str, Any] | None = None,
    example_frames: int = 100,
    check_frames: Sequence[int] = (37, 311),
    tolerance: float = 1e-4,
    opset: int = 17,
) -> dict[str, Any]:
    """Write ``acoustic_model.onnx`` and ``vocabulary.json`` for a speech model; check them; return the report.

    Args:
        model: a registered speech model (features ``(B, T, C)`` → log-probabilities).
        output_dir: folder to write (created if missing).
        vocabulary: the model's tokens, the CTC blank first (the checkpoint's ``class_names``).
        preprocessing: the data's feature settings (sample rate, mel bands, hop...), written beside the tokens.
        example_frames: the traced utterance's length in feature frames.
        check_frames: other lengths checked in onnxruntime (batch of 3) against eager.
        tolerance: the largest accepted ``|onnx - eager|``.
        opset: ONNX opset.

    Example:
        >>> import cnnlstm, tempfile
        >>> model = cnnlstm.create_model("cnn_bilstm_ctc_tiny", num_classes=4, in_channels=16)
        >>> report = export_acoustic_model(model, output_dir=tempfile.mkdtemp(), vocabulary=["<blank>", " ", "a", "b"])
        >>> report["checked_frames"], report["max_abs_diff"] < 1e-4
        ([37, 311], True)
    """
    require("onnx", "exporting the acoustic model to ONNX")
    ort = require("onnxruntime", "checking the exported acoustic model")
    num_classes = int(getattr(model, "num_classes", len(vocabulary)))
    if len(vocabulary) != num_classes:
        raise ValueError(
            f"the vocabulary has {len(vocabulary)} tokens but the model has {num_classes} outputs"
        )
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    try:
        in_channels = int(getattr(model, "in_channels"))  # noqa: B009 - every speech model has it
        device = next(model.parameters()).device
        generator = torch.Generator().manual_seed(0)
        example = torch.randn(2, example_frames, in_channels, generator=generator).to(device)
        exportable = with_torch_lstms(model).eval()
        with torch.no_grad():
            swap_diff = float((exportable(example) - model(example)).abs().max())
        if swap_diff > tolerance:
            raise RuntimeError(
                f"torch.nn.LSTM in place of cnnlstm.nn.LSTM changed the outputs by {swap_diff:.3g}"
            )
        path = out / ACOUSTIC_MODEL_FILE
        with warnings.catch_warnings():
            # the TorchScript exporter's deprecation notice and its tracer/constant-folding notes
            warnings.simplefilter("ignore")
            torch.onnx.export(
                exportable,
                (example,),
                str(path),
                dynamo=False,
                input_names=["features"],
                output_names=["log_probs"],
                dynamic_axes={"features": {0: "batch", 1: "time"}, "log_probs": {0: "batch", 1: "frames"}},
                opset_version=opset,
            )
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        diffs = {}
        for frames in (example_frames, *check_frames):
            x = torch.randn(3, int(frames), in_channels, generator=generator)
            (onnx_out,) = session.run(None, {"features": x.numpy()})
            with torch.no_grad():
                eager = model(x.to(device)).cpu()
            if tuple(onnx_out.shape) != tuple(eager.shape):
                raise RuntimeError(
                    f"ONNX output {onnx_out.shape} differs from eager {tuple(eager.shape)} at {frames} frames"
                )
            diffs[str(frames)] = float((torch.from_numpy(onnx_out) - eager).abs().max())
    finally:
        model.train(was_training)
    worst = max(diffs.values())
    if worst > tolerance:
        raise RuntimeError(
            f"acoustic_model.onnx differs from eager by {worst:.3g} (> {tolerance}); per length: {diffs}"
        )
    atomic_write_json(
        out / VOCABULARY_FILE,
        {"tokens": list(vocabulary), "blank": 0, "preprocessing": dict(preprocessing or {})},
    )
    report = {
        "file": ACOUSTIC_MODEL_FILE,
        "exporter": "torch.onnx.export(dynamo=False), ONNX LSTM operator",
        "opset": opset,
        "inputs": {"features": ["batch", "time", in_channels]},
        "outputs": {"log_probs": ["batch", "frames", num_classes]},
        "example_frames": example_frames,
        "checked_frames": [int(f) for f in check_frames],
        "max_abs_diff_per_frames": diffs,
        "max_abs_diff": worst,
        "lstm_swap_max_abs_diff": swap_diff,
        "size_bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - start, 3),
    }
    json.dumps(report, allow_nan=False)
    atomic_write_json(out / REPORT_FILE, report)
    return report
