"""Export a model for deployment and check every exported file against eager PyTorch.

:func:`export_model` writes one directory::

    config.json          how to rebuild the model: registry name, constructor arguments, input shape;
                         with them, the class names and the preprocessing (how raw inputs become
                         model inputs), also kept in the safetensors metadata
    model.safetensors    the weights (safetensors: tensors and JSON only, nothing to unpickle)
    model.onnx           ONNX graph with a dynamic batch dimension (torch.onnx dynamo exporter)
    model.pt2            torch.export ExportedProgram (torch.export.save), dynamic batch dimension
    export_report.json   per-format max |exported - eager| on two batch sizes, file sizes

Every exported format is run again after writing (the reloaded safetensors weights, onnxruntime
on the ONNX file, the reloaded ``.pt2`` program) on the example batch and on a batch of another
size, and compared with the eager model; a difference above ``tolerance`` raises
:class:`ExportVerificationError` naming the format. :func:`cnnlstm.deploy.load_pretrained` reads
the directory back.

onnx, onnxruntime, onnxscript and safetensors are optional dependencies, imported only when a
function needs them: ``pip install 'cnnlstm[export]'``.

Example:
    >>> import cnnlstm, torch
    >>> from cnnlstm.deploy import export_model, load_pretrained
    >>> model = cnnlstm.create_model("lrcn_tiny", num_classes=5)
    >>> report = export_model(model, model_name="lrcn_tiny", model_kwargs={"num_classes": 5},
    ...                       example_input=torch.randn(2, 6, 3, 32, 32), output_dir="lrcn_export")
    >>> report["formats"]["onnx"]["max_abs_diff"] < 1e-4
    True
    >>> load_pretrained("lrcn_export")(torch.randn(3, 6, 3, 32, 32)).shape
    torch.Size([3, 5])
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cnnlstm._io import atomic_write_json, one_line
from cnnlstm._validation import check_non_negative_float, check_positive_int
from cnnlstm.deploy._common import (
    CONFIG_FILE,
    EXPORT_FORMATS,
    FORMAT_FILES,
    FORMAT_VERSION,
    ONNX_FILE,
    PT2_FILE,
    REPORT_FILE,
    WEIGHTS_FILE,
    ExportVerificationError,
    compare_outputs,
    quiet_exporter,
    require,
)
from cnnlstm.deploy.graph import export_onnx, run_onnxruntime, torch_export
from cnnlstm.deploy.pretrained import export_config, load_pretrained
from cnnlstm.deploy.safetensors_io import save_safetensors

__all__ = ["ExportVerificationError", "export_model"]


def export_model(
    model: nn.Module,
    *,
    model_name: str,
    model_kwargs: Mapping[str, Any],
    example_input: Tensor,
    output_dir: str | os.PathLike[str],
    formats: Iterable[str] = EXPORT_FORMATS,
    opset: int | None = None,
    tolerance: float = 1e-4,
    class_names: Sequence[str] | None = None,
    preprocessing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Export ``model`` to ``output_dir`` in ``formats`` and check each file against eager PyTorch.

    ``config.json`` is always written; it records ``model_name`` and ``model_kwargs`` so that
    ``cnnlstm.create_model(model_name, **model_kwargs)`` rebuilds the architecture, which is
    checked (on the meta device, without allocating weights) before anything is written.

    The model runs in eval mode during the export (its previous mode is restored afterwards), and
    every comparison runs under ``torch.no_grad()``: the eager outputs on ``example_input`` and on a
    batch of another size (``B + 1`` samples) are compared with

    * ``safetensors``: :func:`load_pretrained` of the written directory (expected to be exact);
    * ``onnx``: onnxruntime (CPU) on ``model.onnx``, whose batch dimension is dynamic;
    * ``torch_export``: ``torch.export.load("model.pt2").module()``, batch dimension dynamic.

    Args:
        model: the model; takes ``example_input`` and returns one tensor.
        model_name: its registry name (see :func:`cnnlstm.list_models`).
        model_kwargs: the keyword arguments it was built with; must be JSON-serialisable.
        example_input: a batch, ``(B, T, C, H, W)`` for video models or ``(B, T, C)`` for sequences,
            on the model's device. A batch of one is traced as two (a traced size-1 dimension
            would be fixed to 1 in the exported graph).
        output_dir: directory to write; created if missing. Files of the same names are
            overwritten; other files are left alone.
        formats: any of ``"safetensors"``, ``"onnx"``, ``"torch_export"``.
        opset: ONNX opset version; ``None`` uses the exporter's default.
        tolerance: largest max-abs difference accepted between an exported format and eager.
        class_names: the name of each output class, in order (as many as the model's
            ``num_classes`` when it has one); written to ``config.json`` and to the safetensors
            metadata (``cnnlstm.class_names``).
        preprocessing: how a raw input becomes a model input (a data module's
            :meth:`~cnnlstm.data.base.BaseDataModule.preprocessing`: frame size, number of frames,
            sampling, mean/std; channels and their statistics for sensors), JSON; written to
            ``config.json`` and to the safetensors metadata (``cnnlstm.preprocessing``), read back
            by ``load_pretrained(dir, with_preprocess=True)``.

    Returns:
        The report also written to ``export_report.json``: ``max_abs_diff`` ``{format: diff}``
        (the largest over both batch sizes); under ``formats``, for each format its file, size,
        ``max_abs_diff``, ``max_abs_diff_per_batch`` and exporter details; the example input
        shape, the check batch sizes, the tolerance and the size of every other written file.

    Raises:
        ValueError: invalid arguments, ``model_kwargs`` that are not JSON-serialisable (the
            message names the key) or that do not rebuild ``model``.
        cnnlstm.models.UnknownModelError: ``model_name`` is not registered.
        ExportVerificationError: an exported format differs from eager by more than ``tolerance``
            (files written so far stay, for inspection).
        ImportError: an optional dependency of a requested format is missing.

    Example:
        >>> import cnnlstm, torch
        >>> model = cnnlstm.create_model("conv3d_lstm_tiny", num_classes=4)
        >>> report = export_model(model, model_name="conv3d_lstm_tiny",
        ...                       model_kwargs={"num_classes": 4},
        ...                       example_input=torch.randn(2, 8, 3, 32, 32),
        ...                       output_dir="out", formats=("safetensors", "onnx"))
        >>> sorted(report["formats"])
        ['onnx', 'safetensors']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; received {type(model).__name__}")
    if not isinstance(model_name, str) or not model_name:
        raise ValueError(f"model_name must be a non-empty string; received model_name={model_name!r}")
    kwargs = _json_kwargs(model_kwargs)
    extra = _extra_config(model, class_names, preprocessing)
    _check_example_input(example_input)
    fmts = _check_formats(formats)
    if opset is not None:
        check_positive_int("opset", opset)
    tolerance = check_non_negative_float("tolerance", tolerance)
    _require_format_dependencies(fmts)
    _check_rebuildable(model, model_name, kwargs)

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_input = _other_batch(example_input)
    inputs = {int(example_input.shape[0]): example_input, int(check_input.shape[0]): check_input}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            expected = {b: _as_output(model(x), "model") for b, x in inputs.items()}
        job = _ExportJob(model, model_name, out, example_input, inputs, expected, tolerance)
        results, written = job.run(
            fmts, opset, metadata={f"cnnlstm.{k}": json.dumps(v) for k, v in extra.items()}
        )
        files = [CONFIG_FILE, *written, REPORT_FILE]
        config = export_config(model, model_name, kwargs, example_input, files)
        _write_json(out / CONFIG_FILE, {**config, **extra})
        if "safetensors" in fmts:
            job.check_reloaded(results["safetensors"])
    finally:
        model.train(was_training)
    report = _report(out, model_name, example_input, inputs, tolerance, {f: results[f] for f in fmts})
    # Sizes of the files written before the report (the report cannot hold its own size).
    report["files"] = {name: (out / name).stat().st_size for name in files if name != REPORT_FILE}
    _write_json(out / REPORT_FILE, report)
    return report


class _ExportJob:
    """Writes each requested format of one model and compares it with the eager outputs."""

    def __init__(
        self,
        model: nn.Module,
        model_name: str,
        out: Path,
        example_input: Tensor,
        inputs: dict[int, Tensor],
        expected: dict[int, Tensor],
        tolerance: float,
    ) -> None:
        self.model, self.model_name, self.out = model, model_name, out
        self.example_input, self.inputs, self.expected = example_input, inputs, expected
        self.tolerance = tolerance

    def run(
        self, fmts: tuple[str, ...], opset: int | None, *, metadata: Mapping[str, str]
    ) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Write the formats in a fixed order (``metadata`` goes into the safetensors header);
        returns per-format results and the files written."""
        results: dict[str, dict[str, Any]] = {}
        written: list[str] = []
        if "safetensors" in fmts:
            start = time.perf_counter()
            aliases = save_safetensors(self.model.state_dict(), self.out / WEIGHTS_FILE, metadata=metadata)
            results["safetensors"] = {"file": WEIGHTS_FILE, "aliased_tensors": aliases}
            results["safetensors"]["seconds"] = time.perf_counter() - start
            written.append(WEIGHTS_FILE)
        if "onnx" in fmts or "torch_export" in fmts:
            program = torch_export(self.model, self.example_input, self.model_name)
            if "torch_export" in fmts:
                results["torch_export"] = self._pt2(program)
                written.append(PT2_FILE)
            if "onnx" in fmts:
                results["onnx"] = self._onnx(program, opset)
                written.extend(results["onnx"].pop("files"))
        return results, written

    def _timed_compare(self, fmt: str, actual: dict[int, Tensor], start: float) -> dict[str, Any]:
        return {
            **compare_outputs(fmt, actual, self.expected, self.tolerance),
            "seconds": time.perf_counter() - start,
        }

    def _pt2(self, program: torch.export.ExportedProgram) -> dict[str, Any]:
        start = time.perf_counter()
        torch.export.save(program, self.out / PT2_FILE)
        with quiet_exporter():
            reloaded = torch.export.load(self.out / PT2_FILE).module()
        with torch.no_grad():
            actual = {b: _as_output(reloaded(x), "model.pt2") for b, x in self.inputs.items()}
        return {"file": PT2_FILE, **self._timed_compare("torch_export", actual, start)}

    def _onnx(self, program: torch.export.ExportedProgram, opset: int | None) -> dict[str, Any]:
        start = time.perf_counter()
        info = export_onnx(program, self.model, self.example_input, self.out / ONNX_FILE, opset)
        actual = run_onnxruntime(self.out / ONNX_FILE, self.inputs)
        return {"file": ONNX_FILE, **info, **self._timed_compare("onnx", actual, start)}

    def check_reloaded(self, result: dict[str, Any]) -> None:
        """Compare :func:`load_pretrained` of the written directory with eager (needs config.json)."""
        start = time.perf_counter()
        loaded = load_pretrained(self.out, map_location=self.example_input.device)
        with torch.no_grad():
            actual = {b: _as_output(loaded(x), "load_pretrained") for b, x in self.inputs.items()}
        result.update(compare_outputs("safetensors", actual, self.expected, self.tolerance))
        result["seconds"] += time.perf_counter() - start


def _report(
    out: Path,
    model_name: str,
    example_input: Tensor,
    inputs: dict[int, Tensor],
    tolerance: float,
    results: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    for fmt, entry in results.items():
        entry["size_bytes"] = (out / FORMAT_FILES[fmt]).stat().st_size
    return {
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "example_input_shape": list(example_input.shape),
        "check_batch_sizes": list(inputs),
        "tolerance": tolerance,
        "max_abs_diff": {fmt: entry["max_abs_diff"] for fmt, entry in results.items()},
        "formats": results,
        "torch_version": torch.__version__,
    }


def _json_kwargs(model_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``model_kwargs`` as they will read back from JSON (tuples become lists); names a bad key."""
    if not isinstance(model_kwargs, Mapping):
        raise ValueError(f"model_kwargs must be a dict; received {type(model_kwargs).__name__}")
    result = {}
    for key, value in model_kwargs.items():
        if not isinstance(key, str):
            raise ValueError(f"model_kwargs keys must be strings; received key {key!r}")
        try:
            result[key] = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"model_kwargs[{key!r}] = {value!r} is not JSON-serialisable ({err}); config.json can "
                "hold only numbers, strings, booleans, None, lists and dicts"
            ) from None
    return result


def _extra_config(
    model: nn.Module, class_names: Sequence[str] | None, preprocessing: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``class_names`` and ``preprocessing`` as ``config.json`` will hold them (absent when None)."""
    extra: dict[str, Any] = {}
    if class_names is not None:
        names = [class_names] if isinstance(class_names, str) else list(class_names)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError(
                f"class_names must be a non-empty list of non-empty strings; received class_names={class_names!r}"
            )
        num_classes = getattr(model, "num_classes", None)
        if isinstance(num_classes, int) and num_classes > 0 and len(names) != num_classes:
            raise ValueError(
                f"class_names has {len(names)} names but the model has num_classes={num_classes}; pass "
                "one name per output class, in order"
            )
        extra["class_names"] = names
    if preprocessing is not None:
        if not isinstance(preprocessing, Mapping):
            raise ValueError(f"preprocessing must be a dict; received {type(preprocessing).__name__}")
        try:
            extra["preprocessing"] = json.loads(json.dumps(dict(preprocessing), allow_nan=False))
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"preprocessing is not JSON-serialisable ({err}); config.json can hold only numbers, "
                "strings, booleans, None, lists and dicts"
            ) from None
    return extra


def _check_example_input(x: Any) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"example_input must be a torch.Tensor; received {type(x).__name__}")
    if x.dim() < 2 or x.shape[0] < 1 or x.numel() == 0:
        raise ValueError(
            f"example_input must be a non-empty batch (B, ...) with B >= 1; received shape {tuple(x.shape)}"
        )


def _check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    fmts = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = [f for f in fmts if f not in EXPORT_FORMATS]
    if unknown or not fmts:
        raise ValueError(
            f"formats must be a non-empty subset of {list(EXPORT_FORMATS)}; received {list(fmts)}"
        )
    return tuple(dict.fromkeys(fmts))


def _require_format_dependencies(formats: tuple[str, ...]) -> None:
    needs = {"safetensors": ["safetensors"], "onnx": ["onnx", "onnxscript", "onnxruntime"]}
    for fmt in formats:
        for module in needs.get(fmt, []):
            require(module, f"exporting to {fmt}")


def _check_rebuildable(model: nn.Module, model_name: str, kwargs: dict[str, Any]) -> None:
    """Check that ``create_model(model_name, **kwargs)`` has ``model``'s state-dict keys and shapes."""
    from cnnlstm.models import create_model, model_info

    model_info(model_name)  # UnknownModelError propagates
    try:
        with torch.device("meta"):  # no memory for the weights
            rebuilt = create_model(model_name, **kwargs)
    except (RuntimeError, NotImplementedError):  # a builder that cannot run on the meta device
        rebuilt = None
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"create_model({model_name!r}, **model_kwargs) fails ({one_line(err, sep='; ', limit=400)}); pass the keyword "
            "arguments the model was built with"
        ) from err
    if rebuilt is None:
        rebuilt = create_model(model_name, **kwargs)
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()}
    if ours != theirs:
        missing = sorted(set(ours) - set(theirs))
        extra = sorted(set(theirs) - set(ours))
        shapes = sorted(k for k in set(ours) & set(theirs) if ours[k] != theirs[k])
        detail = "; ".join(
            part
            for part in (
                f"missing {missing[:3]}" if missing else "",
                f"unexpected {extra[:3]}" if extra else "",
                ", ".join(f"{k} is {ours[k]} here but {theirs[k]} rebuilt" for k in shapes[:3]),
            )
            if part
        )
        raise ValueError(
            f"model_kwargs do not rebuild this model: create_model({model_name!r}, **model_kwargs) has "
            f"different weights ({detail}); pass the keyword arguments the model was built with"
        )


def _other_batch(x: Tensor) -> Tensor:
    """A batch of ``B + 1`` samples shaped like ``x``: seeded noise, or ``x``'s rows cycled."""
    size = (x.shape[0] + 1, *x.shape[1:])
    if x.is_floating_point():
        noise = torch.randn(size, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
        return noise.to(device=x.device, dtype=x.dtype)
    return x[torch.arange(size[0], device=x.device) % x.shape[0]]


def _as_output(y: Any, source: str) -> Tensor:
    if not isinstance(y, Tensor):
        raise ValueError(
            f"{source} returned {type(y).__name__}; export_model needs a model returning one tensor"
        )
    return y


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    json.dumps(data, allow_nan=False)  # NaN/inf are not JSON: refuse before writing
    atomic_write_json(path, data)
