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

:func:`export_acoustic_step` writes the streaming model's chunk step (``cnn_lstm_ctc_stream``'s
:meth:`~cnnlstm.models.speech.CNNLSTMCTCStream.chunk_step`) as ``acoustic_step.onnx``: inputs
``features`` ``(batch, chunk, n_mels)`` (``chunk`` any multiple of 4 frames) and the state
tensors ``conv_buffer_0``, ``conv_buffer_1``, ``lstm_h``, ``lstm_c`` (zeros at the start of an
utterance), outputs ``log_probs`` ``(batch, chunk / 4, vocabulary)`` and the ``new_`` state. It is
checked in onnxruntime by feeding whole utterances chunk by chunk, for several chunk sizes, against
eager whole-utterance ``forward``: the same log-probabilities and the same greedy transcripts.
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

__all__ = [
    "ACOUSTIC_MODEL_FILE",
    "ACOUSTIC_STEP_FILE",
    "VOCABULARY_FILE",
    "export_acoustic_model",
    "export_acoustic_step",
]

ACOUSTIC_MODEL_FILE = "acoustic_model.onnx"
ACOUSTIC_STEP_FILE = "acoustic_step.onnx"
STEP_REPORT_FILE = "acoustic_step.json"
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


class _ChunkStep(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        step: Any = getattr(self.model, "chunk_step")  # noqa: B009 - checked by export_acoustic_step
        return tuple(step(features, *state))


def _run_chunks(session: Any, names: list[str], x: Tensor, state: tuple[Tensor, ...], chunk: int) -> Tensor:
    """``x`` ``(B, T, C)`` through the ONNX step ``chunk`` frames at a time (the last chunk padded
    with zeros); the first ``ceil(T / 4)`` output frames."""
    steps = x.shape[1]
    padded = torch.nn.functional.pad(x, (0, 0, 0, -steps % chunk))
    feed = {n: s.numpy() for n, s in zip(names, state, strict=True)}
    outputs = []
    for start in range(0, padded.shape[1], chunk):
        log_probs, *new_state = session.run(
            None, {"features": padded[:, start : start + chunk].numpy(), **feed}
        )
        feed = dict(zip(names, new_state, strict=True))
        outputs.append(torch.from_numpy(log_probs))
    return torch.cat(outputs, dim=1)[:, : (steps + 3) // 4]


def export_acoustic_step(
    model: nn.Module,
    *,
    output_dir: str | Path,
    example_chunk: int = 16,
    check_chunks: Sequence[int] = (4, 12, 40),
    check_frames: Sequence[int] = (37, 211),
    tolerance: float = 1e-4,
    opset: int = 17,
) -> dict[str, Any]:
    """Write ``acoustic_step.onnx`` (the streaming model's chunk step) and ``acoustic_step.json``; check them.

    Args:
        model: a model with ``init_chunk_state`` and ``chunk_step`` (``cnn_lstm_ctc_stream``).
        output_dir: folder to write (created if missing).
        example_chunk: the traced chunk's frames (a multiple of 4; the graph takes any multiple of 4).
        check_chunks: chunk sizes fed in onnxruntime (multiples of 4).
        check_frames: utterance lengths (feature frames, batch of 2) streamed through each chunk
            size and compared with eager ``forward`` on the whole utterance.
        tolerance: the largest accepted ``|onnx - eager|`` of a log-probability.
        opset: ONNX opset.

    Example:
        >>> import cnnlstm, tempfile
        >>> model = cnnlstm.create_model("cnn_lstm_ctc_stream_tiny", num_classes=4, in_channels=16)
        >>> report = export_acoustic_step(model, output_dir=tempfile.mkdtemp(), check_chunks=(4, 12))
        >>> report["max_abs_diff"] < 1e-4, report["same_greedy_transcripts"]
        (True, True)
    """
    from cnnlstm.nn.ctc import ctc_greedy_decode

    require("onnx", "exporting the streaming step to ONNX")
    ort = require("onnxruntime", "checking the exported streaming step")
    if not callable(getattr(model, "chunk_step", None)):
        raise TypeError(
            f"{type(model).__name__} has no tensor-state chunk_step, so it has no streaming step to export; "
            "the streaming speech model is cnn_lstm_ctc_stream"
        )
    for chunk in (example_chunk, *check_chunks):
        if int(chunk) <= 0 or int(chunk) % 4:
            raise ValueError(f"chunk sizes must be positive multiples of 4 frames; received {chunk}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    try:
        in_channels = int(getattr(model, "in_channels"))  # noqa: B009 - every speech model has it
        exportable = with_torch_lstms(model).eval()
        state = exportable.init_chunk_state(2, device=torch.device("cpu"))  # type: ignore[operator]
        names = ["conv_buffer_0", "conv_buffer_1", "lstm_h", "lstm_c"][: len(state)]
        batch_dims = [0, 0, 1, 1]
        generator = torch.Generator().manual_seed(0)
        example = torch.randn(2, example_chunk, in_channels, generator=generator)
        path = out / ACOUSTIC_STEP_FILE
        dynamic = {"features": {0: "batch", 1: "chunk"}, "log_probs": {0: "batch", 1: "chunk_out"}}
        for name, dim in zip(names, batch_dims, strict=True):
            dynamic[name] = {dim: "batch"}
            dynamic[f"new_{name}"] = {dim: "batch"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(
                _ChunkStep(exportable.cpu()).eval(),
                (example, *state),
                str(path),
                dynamo=False,
                input_names=["features", *names],
                output_names=["log_probs", *[f"new_{n}" for n in names]],
                dynamic_axes=dynamic,
                opset_version=opset,
            )
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        diffs: dict[str, float] = {}
        same_text = True
        cpu_model = copy.deepcopy(model).cpu().eval()
        for frames in check_frames:
            x = torch.randn(2, int(frames), in_channels, generator=generator)
            with torch.no_grad():
                eager = cpu_model(x)
            for chunk in check_chunks:
                streamed = _run_chunks(session, names, x, exportable.init_chunk_state(2), int(chunk))  # type: ignore[operator]
                if streamed.shape != eager.shape:
                    raise RuntimeError(
                        f"streamed ONNX output {tuple(streamed.shape)} != eager {tuple(eager.shape)}"
                    )
                diffs[f"{frames} frames, chunk {chunk}"] = float((streamed - eager).abs().max())
                same_text &= ctc_greedy_decode(streamed) == ctc_greedy_decode(eager)
    finally:
        model.train(was_training)
    worst = max(diffs.values())
    if worst > tolerance or not same_text:
        raise RuntimeError(
            f"{ACOUSTIC_STEP_FILE} streamed chunk by chunk differs from eager forward by {worst:.3g} "
            f"(tolerance {tolerance}; same greedy transcripts: {same_text}); per case: {diffs}"
        )
    report = {
        "file": ACOUSTIC_STEP_FILE,
        "exporter": "torch.onnx.export(dynamo=False), ONNX LSTM operator",
        "opset": opset,
        "inputs": {
            "features": ["batch", "chunk (a multiple of 4)", in_channels],
            **{
                n: ["batch" if d == i else size for d, size in enumerate(s.shape)]
                for n, s, i in zip(names, state, batch_dims, strict=True)
            },
        },
        "outputs": {
            "log_probs": ["batch", "chunk / 4", int(getattr(model, "num_classes"))],  # noqa: B009
            "state": [f"new_{n}" for n in names],
        },
        "initial_state": "zeros of the shapes above, at the start of every utterance",
        "end_of_utterance": "pad the last chunk to a multiple of 4 frames; keep the first ceil(T / 4) output frames",
        "checked_chunks": [int(c) for c in check_chunks],
        "checked_frames": [int(f) for f in check_frames],
        "max_abs_diff_per_case": diffs,
        "max_abs_diff": worst,
        "same_greedy_transcripts": same_text,
        "size_bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - start, 3),
    }
    json.dumps(report, allow_nan=False)
    atomic_write_json(out / STEP_REPORT_FILE, report)
    return report
