"""Export a streaming model's single step to ONNX, so deployments run any number of frames.

A whole-sequence ONNX graph is unrolled for the sequence length it was traced with; the step graph
is not: ``(frame, *state) -> (output, *new_state)``, called once per frame with the state it
returned. :func:`export_step` writes ``step.onnx`` and ``step.json`` (input and state names and
shapes, ``"batch"`` where the size is free; the initial state is zeros) and checks the graph in
onnxruntime: a loop of ``steps`` frames against the eager model's forward on the frames so far,
on the example's batch size and on one more. The batch dimension is dynamic (the same for the
frame and every state, wherever it sits in a state tensor), so one file serves any batch size.

The output is named after the model's ``step_output``: ``"logits"`` (the default, classifiers)
or ``"frames"`` (forecasters: the predicted frames ``(B, future_frames, C, H, W)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn

from cnnlstm._io import atomic_write_json
from cnnlstm.deploy._common import quiet_exporter
from cnnlstm.models import StreamingModel, can_stream, list_models

__all__ = ["export_step"]


class _Step(nn.Module):
    def __init__(self, model: StreamingModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, frame: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        output, new_state = self.model.step(frame, tuple(state))
        return (output, *new_state)


def export_step(
    model: nn.Module,
    example_frame: Tensor,
    output_dir: str | Path,
    *,
    steps: int = 50,
    tolerance: float = 1e-4,
) -> dict[str, Any]:
    """Write ``step.onnx`` for ``model.step`` on inputs shaped like ``example_frame``.

    ``example_frame`` is one time step of a batch: a frame ``(B, C, H, W)`` or a sensor sample ``(B, C)``.

    Returns the report also written to ``step.json``, with the largest difference between the
    onnxruntime loop's output (logits, or a forecaster's predicted frames) and
    ``model(frames[:, : t + 1])`` after every one of ``steps`` random frames (in [0, 1]), on a
    batch of ``B`` and of ``B + 1`` (``batch_sizes_checked``); raises ``RuntimeError`` above
    ``tolerance``. The graph takes any batch size; ``inputs`` shows ``"batch"`` where it goes.

    Example:
        >>> from cnnlstm import create_model
        >>> model = create_model("lrcn_tiny", num_classes=4)
        >>> report = export_step(model, torch.zeros(1, 3, 32, 32), "exported/", steps=5)
        >>> report["max_abs_diff"] < 1e-4, report["inputs"]["frame"]
        (True, ['batch', 3, 32, 32])
    """
    streaming = _check_streams(model)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    batch = int(example_frame.shape[0])
    state = _tensor_state(model, streaming, batch, example_frame)
    # torch.export fixes a dimension of size 1, so a batch of one is traced as two.
    trace_frame = example_frame if batch > 1 else torch.cat([example_frame, example_frame])
    trace_state = _tensor_state(model, streaming, trace_frame.shape[0], example_frame)
    names = [f"state_{i}" for i in range(len(state))]
    output_name = getattr(model, "step_output", "logits")
    path = out / "step.onnx"
    dim = torch.export.Dim("batch")
    dynamic = (
        {0: dim},
        # ``forward(frame, *state)``: the state's specs are one tuple, like the *args they describe
        tuple({d: dim} for d in _batch_dims(streaming, trace_state, trace_frame.shape[0], example_frame)),
    )
    with torch.no_grad(), quiet_exporter():  # no exporter chatter on stdout
        torch.onnx.export(
            _Step(streaming).eval(),
            (trace_frame, *trace_state),
            str(path),
            dynamo=True,
            verbose=False,
            input_names=["frame", *names],
            output_names=[output_name, *[f"new_{n}" for n in names]],
            dynamic_shapes=dynamic,
        )
    other = _tensor_state(model, streaming, batch + 1, example_frame)
    worst = max(
        _onnx_loop_error(model, path, example_frame, dict(zip(names, state, strict=True)), steps),
        _onnx_loop_error(
            model, path, _resized(example_frame, batch + 1), dict(zip(names, other, strict=True)), steps
        ),
    )
    report = {
        "file": path.name,
        "inputs": {
            "frame": ["batch", *example_frame.shape[1:]],
            **{n: _shape_with_batch(s, o) for n, s, o in zip(names, state, other, strict=True)},
        },
        "outputs": [output_name, *[f"new_{n}" for n in names]],
        "initial_state": "zeros of the shapes above",
        "dynamic_axes": "'batch': any batch size, the same for the frame and every state",
        "batch_sizes_checked": [batch, batch + 1],
        "steps_checked": steps,
        "max_abs_diff": worst,
    }
    atomic_write_json(out / "step.json", report)
    if worst > tolerance:
        raise RuntimeError(
            f"the ONNX step drifts from eager by {worst:.3g} over {steps} frames (tolerance {tolerance})"
        )
    return report


def _tensor_state(
    model: nn.Module, streaming: StreamingModel, batch: int, frame: Tensor
) -> tuple[Tensor, ...]:
    """``init_state(batch)``; a ValueError when it is not a tuple of tensors (no ONNX step then)."""
    state = streaming.init_state(batch, device=frame.device, frame_size=tuple(frame.shape[-2:]))
    if not (isinstance(state, tuple) and all(isinstance(s, Tensor) for s in state)):
        raise ValueError(
            f"{type(model).__name__}'s streaming state is not a tuple of tensors, so its step cannot be "
            "exported to ONNX; stream it in Python with cnnlstm.deploy.Stream"
        )
    return state


def _batch_dims(streaming: StreamingModel, state: tuple[Tensor, ...], batch: int, frame: Tensor) -> list[int]:
    """The batch dimension of each state tensor of ``init_state(batch)``: the one dimension that
    changes in ``init_state(batch + 1)``."""
    bigger = streaming.init_state(batch + 1, device=frame.device, frame_size=tuple(frame.shape[-2:]))
    dims = []
    for i, (a, b) in enumerate(zip(state, bigger, strict=True)):
        changed = [d for d in range(a.dim()) if a.shape[d] != b.shape[d]]
        if len(changed) != 1:
            raise ValueError(
                f"state_{i} of {type(streaming).__name__} has shape {tuple(a.shape)} and no single batch "
                "dimension; its step cannot be exported with a dynamic batch"
            )
        dims.append(changed[0])
    return dims


def _shape_with_batch(state: Tensor, other: Tensor) -> list[int | str]:
    """``state``'s shape with ``"batch"`` where it differs from ``other`` (the next batch size)."""
    return ["batch" if a != b else a for a, b in zip(state.shape, other.shape, strict=True)]


def _resized(frame: Tensor, batch: int) -> Tensor:
    """A frame batch of ``batch`` samples shaped like ``frame`` (its rows cycled)."""
    return frame[torch.arange(batch, device=frame.device) % frame.shape[0]]


def _check_streams(model: nn.Module) -> StreamingModel:
    """``model`` itself, typed for its ``init_state`` and ``step``; a TypeError if it has none."""
    if not can_stream(model):
        streaming = ", ".join(list_models(streams=True, exclude="*_tiny"))
        raise TypeError(
            f"{type(model).__name__} has no init_state/step, so it has no step to export; the models "
            f"that stream are {streaming} (and their _tiny variants)"
        )
    return cast(StreamingModel, model)  # can_stream checked init_state and step


def _onnx_loop_error(
    model: nn.Module, path: Path, example_frame: Tensor, state: dict[str, Tensor], steps: int
) -> float:
    """Run ``steps`` random frames through the ONNX step in onnxruntime, feeding its state back;
    the largest difference from ``model(frames[:, : t + 1])`` over the steps with an output."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = example_frame.shape[0]
    frames = torch.rand(batch, steps, *example_frame.shape[1:], generator=torch.Generator().manual_seed(0))
    feed = {n: s.numpy() for n, s in state.items()}
    worst = 0.0
    with torch.no_grad():
        for t in range(steps):
            output, *new_state = session.run(None, {"frame": frames[:, t].numpy(), **feed})
            feed = dict(zip(state, new_state, strict=True))
            if t + 1 < getattr(model, "min_steps", 1):
                continue  # no output yet (e.g. DeepConvLSTM's valid convolutions need 17 samples)
            expected = model(frames[:, : t + 1])
            worst = max(worst, float((torch.from_numpy(output) - expected).abs().max()))
    return worst
