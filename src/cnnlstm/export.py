"""Export a model for deployment, check every exported file against eager PyTorch, load it back.

:func:`export_model` writes one directory::

    config.json          how to rebuild the model: registry name, constructor arguments, input shape
    model.safetensors    the weights (safetensors: tensors and JSON only, nothing to unpickle)
    model.onnx           ONNX graph with a dynamic batch dimension (torch.onnx dynamo exporter)
    model.pt2            torch.export ExportedProgram (torch.export.save), dynamic batch dimension
    export_report.json   per-format max |exported - eager| on two batch sizes, file sizes

Every exported format is run again after writing (the reloaded safetensors weights, onnxruntime
on the ONNX file, the reloaded ``.pt2`` program) on the example batch and on a batch of another
size, and compared with the eager model; a difference above ``tolerance`` raises
:class:`ExportVerificationError` naming the format.

:func:`load_pretrained` rebuilds the model from ``config.json`` and ``model.safetensors`` alone; it
never unpickles anything, so a directory from an untrusted source cannot run code when loaded.

The ONNX exporter is ``torch.onnx.export(..., dynamo=True)`` (built on ``torch.export``, needs
onnxscript). The legacy TorchScript exporter is deprecated, and on these models, which build
their LSTM state with ``x.new_zeros(..., batch, ...)`` inside a Python loop over time steps, it
bakes the traced batch size into the graph, so the exported file fails on any other batch size.

onnx, onnxruntime, onnxscript and safetensors are optional dependencies, imported only when a
function needs them: ``pip install 'cnnlstm[export]'``.

Example:
    >>> import cnnlstm, torch
    >>> from cnnlstm.export import export_model, load_pretrained
    >>> model = cnnlstm.create_model("lrcn_tiny", num_classes=5)
    >>> report = export_model(model, model_name="lrcn_tiny", model_kwargs={"num_classes": 5},
    ...                       example_input=torch.randn(2, 6, 3, 32, 32), output_dir="lrcn_export")
    >>> report["formats"]["onnx"]["max_abs_diff"] < 1e-4
    True
    >>> load_pretrained("lrcn_export")(torch.randn(3, 6, 3, 32, 32)).shape
    torch.Size([3, 5])
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "CONFIG_FILE",
    "EXPORT_FORMATS",
    "FORMAT_VERSION",
    "ExportVerificationError",
    "export_model",
    "load_pretrained",
]

FORMAT_VERSION = 1
"""Version of the ``config.json`` layout written by :func:`export_model`."""

EXPORT_FORMATS = ("safetensors", "onnx", "torch_export")
"""Formats :func:`export_model` can write."""

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"
PT2_FILE = "model.pt2"
REPORT_FILE = "export_report.json"

_FORMAT_FILES = {"safetensors": WEIGHTS_FILE, "onnx": ONNX_FILE, "torch_export": PT2_FILE}
_INSTALL_HINT = "pip install 'cnnlstm[export]'"
# safetensors metadata key: JSON {name: kept name} for state-dict entries that are the same tensor.
_ALIASES_KEY = "cnnlstm.aliases"
# Weights above this go to an external-data file next to model.onnx (protobuf caps a file at 2 GiB).
_ONNX_INLINE_LIMIT = 1 << 30
_LAYOUTS = {3: "(B, T, C)", 5: "(B, T, C, H, W)"}
_INPUT_NAMES = {3: "sequence", 5: "frames"}


class ExportVerificationError(RuntimeError):
    """An exported file's outputs differ from the eager model's by more than the tolerance."""


# --- public API ----------------------------------------------------------------------------------


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
    _check_example_input(example_input)
    fmts = _check_formats(formats)
    if opset is not None and (isinstance(opset, bool) or not isinstance(opset, int) or opset < 1):
        raise ValueError(f"opset must be a positive int or None; received opset={opset!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0; received tolerance={tolerance!r}")
    tolerance = float(tolerance)
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
        results: dict[str, dict[str, Any]] = {}
        written: list[str] = []

        if "safetensors" in fmts:
            start = time.perf_counter()
            aliases = _save_safetensors(model.state_dict(), out / WEIGHTS_FILE)
            results["safetensors"] = {"file": WEIGHTS_FILE, "aliased_tensors": aliases}
            written.append(WEIGHTS_FILE)
            results["safetensors"]["seconds"] = time.perf_counter() - start

        program = None
        if "onnx" in fmts or "torch_export" in fmts:
            program = _torch_export(model, example_input, model_name)

        if "torch_export" in fmts:
            start = time.perf_counter()
            torch.export.save(program, out / PT2_FILE)
            written.append(PT2_FILE)
            with _quiet_exporter():
                reloaded = torch.export.load(out / PT2_FILE).module()
            with torch.no_grad():
                actual = {b: _as_output(reloaded(x), "model.pt2") for b, x in inputs.items()}
            results["torch_export"] = {
                "file": PT2_FILE,
                **_compare("torch_export", actual, expected, tolerance),
                "seconds": time.perf_counter() - start,
            }

        if "onnx" in fmts:
            start = time.perf_counter()
            info = _export_onnx(program, model, example_input, out / ONNX_FILE, opset)
            written.extend(info.pop("files"))
            actual = _run_onnxruntime(out / ONNX_FILE, inputs)
            results["onnx"] = {
                "file": ONNX_FILE,
                **info,
                **_compare("onnx", actual, expected, tolerance),
                "seconds": time.perf_counter() - start,
            }

        files = [CONFIG_FILE, *written, REPORT_FILE]
        _write_json(out / CONFIG_FILE, _config(model, model_name, kwargs, example_input, files))

        if "safetensors" in fmts:
            start = time.perf_counter()
            device = example_input.device
            loaded = load_pretrained(out, map_location=device)
            with torch.no_grad():
                actual = {b: _as_output(loaded(x), "load_pretrained") for b, x in inputs.items()}
            results["safetensors"].update(_compare("safetensors", actual, expected, tolerance))
            results["safetensors"]["seconds"] += time.perf_counter() - start
    finally:
        model.train(was_training)

    for fmt, entry in results.items():
        entry["size_bytes"] = (out / _FORMAT_FILES[fmt]).stat().st_size
    report: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "example_input_shape": list(example_input.shape),
        "check_batch_sizes": list(inputs),
        "tolerance": tolerance,
        "max_abs_diff": {fmt: results[fmt]["max_abs_diff"] for fmt in fmts},
        "formats": {fmt: results[fmt] for fmt in fmts},
        "torch_version": torch.__version__,
    }
    # Sizes of the files written before the report (the report cannot hold its own size).
    report["files"] = {name: (out / name).stat().st_size for name in files if name != REPORT_FILE}
    _write_json(out / REPORT_FILE, report)
    return report


def load_pretrained(path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model exported by :func:`export_model` from ``config.json`` and ``model.safetensors``.

    Nothing is unpickled: the config is JSON and the weights are safetensors. A ``model.safetensors``
    that is really a ``torch.save`` (pickle) file is refused, not opened.

    Args:
        path: the export directory.
        map_location: device the model is moved to (the weights are read on the CPU, then moved).

    Returns:
        The model built with ``cnnlstm.create_model(model_name, **model_kwargs)``, weights loaded
        strictly, in eval mode.

    Raises:
        FileNotFoundError: the directory, ``config.json`` or ``model.safetensors`` is missing.
        ValueError: malformed ``config.json`` or a missing/invalid field (named), an unreadable or
            non-safetensors weights file, or weights that do not fit the model.
        cnnlstm.models.UnknownModelError: ``model_name`` is not registered.

    Example:
        >>> _ = export_model(create_model("lrcn_tiny", num_classes=5), model_name="lrcn_tiny",
        ...                  model_kwargs={"num_classes": 5}, example_input=torch.randn(2, 6, 3, 32, 32),
        ...                  output_dir="lrcn_export", formats=["safetensors"])
        >>> model = load_pretrained("lrcn_export")
        >>> model(torch.randn(2, 6, 3, 32, 32)).shape
        torch.Size([2, 5])
    """
    from cnnlstm.models import create_model, model_info

    directory = Path(path)
    if not directory.exists():
        raise FileNotFoundError(
            f"pretrained directory {str(directory)!r} does not exist; pass the output_dir of "
            "cnnlstm.export_model"
        )
    if not directory.is_dir():
        raise NotADirectoryError(
            f"{str(directory)!r} is not a directory; pass the directory holding {CONFIG_FILE} and "
            f"{WEIGHTS_FILE}"
        )
    config = _read_config(directory / CONFIG_FILE)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(
            f"{str(weights)!r} does not exist; export the model with 'safetensors' in formats"
        )
    name, kwargs = config["model_name"], config["model_kwargs"]
    model_info(name)  # an unknown name raises UnknownModelError, listing close names
    try:
        model = create_model(name, **kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{CONFIG_FILE} field 'model_kwargs' does not build {name!r} ({_one_line(err)}); "
            f"fix model_kwargs in {str(directory / CONFIG_FILE)!r}"
        ) from err
    state = _read_safetensors(weights)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"weights in {str(weights)!r} do not fit {name!r} built from {CONFIG_FILE} "
            f"({_one_line(err, skip_first=True)}); re-export the model or fix model_kwargs in {CONFIG_FILE}"
        ) from err
    return model.to(torch.device(map_location)).eval()


# --- arguments -----------------------------------------------------------------------------------


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


def _require(module: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or raise an ImportError saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{purpose} needs the '{module}' package: {_INSTALL_HINT}") from err


def _require_format_dependencies(formats: tuple[str, ...]) -> None:
    needs = {"safetensors": ["safetensors"], "onnx": ["onnx", "onnxscript", "onnxruntime"]}
    for fmt in formats:
        for module in needs.get(fmt, []):
            _require(module, f"exporting to {fmt}")


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
            f"create_model({model_name!r}, **model_kwargs) fails ({_one_line(err)}); pass the keyword "
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


def _one_line(err: BaseException, *, skip_first: bool = False) -> str:
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if skip_first and len(lines) > 1:
        lines = lines[1:]
    text = "; ".join(lines) or type(err).__name__
    return text if len(text) <= 400 else text[:397] + "..."


# --- config --------------------------------------------------------------------------------------


def _config(
    model: nn.Module, model_name: str, kwargs: dict[str, Any], example_input: Tensor, files: list[str]
) -> dict[str, Any]:
    from cnnlstm import __version__

    sample = list(example_input.shape[1:])
    config: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "cnnlstm_version": __version__,
        "model_name": model_name,
        "model_kwargs": kwargs,
        "input_shape": sample,
        "input_layout": _LAYOUTS.get(example_input.dim(), f"(B, {len(sample)} dims)"),
    }
    num_classes = getattr(model, "num_classes", None)
    if isinstance(num_classes, int) and not isinstance(num_classes, bool):
        config["num_classes"] = num_classes
    config["files"] = files
    config["torch_version"] = torch.__version__
    return config


def _read_config(path: Path) -> dict[str, Any]:
    """Read and validate ``config.json``; every error names the file and the field."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(path)!r} does not exist; the directory must come from cnnlstm.export_model"
        )
    try:
        config = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{str(path)!r} is not UTF-8 text ({err.reason}); re-export the model") from None
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{str(path)!r} is not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); "
            "fix the file or re-export the model"
        ) from None
    if not isinstance(config, dict):
        raise ValueError(f"{str(path)!r} must hold a JSON object; found {type(config).__name__}")

    def invalid(field: str, expected: str) -> ValueError:
        if field not in config:
            return ValueError(f"{str(path)!r} has no field {field!r} ({expected}); re-export the model")
        return ValueError(
            f"{str(path)!r} field {field!r} must be {expected}; found {config[field]!r}"
        )

    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise invalid("format_version", "a positive integer")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} field 'format_version' is {version}, newer than this cnnlstm reads "
            f"({FORMAT_VERSION}); upgrade cnnlstm"
        )
    if not isinstance(config.get("model_name"), str) or not config["model_name"]:
        raise invalid("model_name", "a registered model name (a non-empty string)")
    if not isinstance(config.get("model_kwargs"), dict):
        raise invalid("model_kwargs", "a JSON object of constructor arguments")
    return config


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


# --- safetensors ---------------------------------------------------------------------------------


def _save_safetensors(state: Mapping[str, Tensor], path: Path) -> int:
    """Write a state dict; returns how many entries were stored as aliases of another entry.

    safetensors refuses tensors sharing memory. Entries that are the *same* tensor (tied weights:
    same storage, offset, shape, stride and dtype) are written once and recorded in the metadata
    as aliases, restored on load. Other tensors sharing storage (overlapping views) are copied
    apart, and every tensor is written contiguous, on the CPU.
    """
    _require("safetensors", f"writing {WEIGHTS_FILE}")
    from safetensors.torch import save_file
    tensors: dict[str, Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[Any, ...], str] = {}
    users: dict[tuple[Any, ...], int] = {}
    for name, value in state.items():
        if not isinstance(value, Tensor):
            raise ValueError(
                f"state dict entry {name!r} is a {type(value).__name__}, not a tensor; safetensors "
                "stores tensors only"
            )
        t = value.detach()
        if t.numel():
            ptr = (t.device, t.untyped_storage().data_ptr())
            identity = (*ptr, t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)
            if identity in seen:
                aliases[name] = seen[identity]
                continue
            seen[identity] = name
            users[ptr] = users.get(ptr, 0) + 1
        tensors[name] = t
    packed = {}
    for name, t in tensors.items():
        shared = t.numel() and users[(t.device, t.untyped_storage().data_ptr())] > 1
        if shared or not _owns_storage(t) or t.device.type != "cpu":
            t = t.to("cpu").clone(memory_format=torch.contiguous_format)
        packed[name] = t
    metadata = {"format": "pt"}
    if aliases:
        metadata[_ALIASES_KEY] = json.dumps(aliases, sort_keys=True)
    save_file(packed, str(path), metadata=metadata)
    return len(aliases)


def _owns_storage(t: Tensor) -> bool:
    """True when ``t`` is contiguous and spans exactly its whole storage."""
    return (
        t.is_contiguous()
        and t.storage_offset() == 0
        and t.untyped_storage().nbytes() == t.numel() * t.element_size()
    )


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    """Read a state dict written by :func:`_save_safetensors` onto the CPU; refuses pickle files
    without unpickling them."""
    with path.open("rb") as f:
        head = f.read(8)
    # torch.save writes a zip archive ("PK\x03\x04") or, in the legacy format, a raw pickle
    # (protocol opcode 0x80); either would run code if unpickled, so say what it is and stop.
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        raise ValueError(
            f"{str(path)!r} is a pickle (torch.save) file, not safetensors; cnnlstm never unpickles "
            "weights. Re-export the model with cnnlstm.export_model"
        )
    safe_open = _require("safetensors", f"reading {WEIGHTS_FILE}").safe_open
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            state = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as err:  # SafetensorError, OSError, ...: the file is not what it should be
        raise ValueError(
            f"{str(path)!r} is not a valid safetensors file ({_one_line(err)}); re-export the model"
        ) from None
    raw = metadata.get(_ALIASES_KEY)
    if raw is not None:
        try:
            aliases = json.loads(raw)
            if not isinstance(aliases, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v in state for k, v in aliases.items()
            ):
                raise ValueError("not a mapping from names to stored tensors")
        except ValueError as err:
            raise ValueError(
                f"{str(path)!r} metadata {_ALIASES_KEY!r} is invalid ({err}); re-export the model"
            ) from None
        for alias, target in aliases.items():
            state[alias] = state[target]
    return state


# --- torch.export and ONNX -----------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence known, harmless exporter noise (torch 2.13): a FutureWarning from torch's own
    pytree code, and log lines about torchvision ops it cannot register when torchvision is absent."""
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning
            )
            yield
    finally:
        logger.setLevel(level)


def _trace_input(example_input: Tensor) -> Tensor:
    # torch.export specialises a dimension of size 1, so a batch of one is traced as two.
    return example_input if example_input.shape[0] > 1 else torch.cat([example_input, example_input])


def _batch_dynamic_shapes() -> tuple[dict[int, Any]]:
    return ({0: torch.export.Dim("batch")},)


def _torch_export(model: nn.Module, example_input: Tensor, model_name: str) -> torch.export.ExportedProgram:
    try:
        with _quiet_exporter():
            return torch.export.export(
                model, (_trace_input(example_input),), dynamic_shapes=_batch_dynamic_shapes(), strict=False
            )
    except Exception as err:
        raise RuntimeError(
            f"torch.export could not trace {model_name!r} with a dynamic batch dimension "
            f"({type(err).__name__}: {_one_line(err)})"
        ) from err


def _export_onnx(
    program: torch.export.ExportedProgram,
    model: nn.Module,
    example_input: Tensor,
    path: Path,
    opset: int | None,
) -> dict[str, Any]:
    """Convert the exported program to ONNX, save it and check it; returns facts for the report."""
    onnx = _require("onnx", "exporting to ONNX")
    _require("onnxscript", "exporting to ONNX (torch.onnx dynamo exporter)")
    input_name = _INPUT_NAMES.get(example_input.dim(), "input")
    weight_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    external = weight_bytes > _ONNX_INLINE_LIMIT
    try:
        with _quiet_exporter():
            onnx_program = torch.onnx.export(
                program,
                (_trace_input(example_input),),
                dynamo=True,
                dynamic_shapes=_batch_dynamic_shapes(),
                input_names=[input_name],
                output_names=["logits"],
                opset_version=opset,
                external_data=external,
                optimize=True,
                verbose=False,
            )
            deduplicated = _deduplicate_initializers(onnx_program.model)
            onnx_program.save(str(path), external_data=external)
        onnx.checker.check_model(str(path))
    except Exception as err:
        raise RuntimeError(f"ONNX export failed ({type(err).__name__}: {_one_line(err)})") from err
    proto = onnx.load(str(path), load_external_data=False)
    files = [path.name]
    data_file = path.with_name(path.name + ".data")
    if external and data_file.is_file():
        files.append(data_file.name)
    return {
        "files": files,
        "exporter": "torch.onnx.export(dynamo=True)",
        "opset": next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None),
        "input_name": input_name,
        "output_name": "logits",
        "dynamic_axes": {input_name: {"0": "batch"}, "logits": {"0": "batch"}},
        "external_data": external,
        "deduplicated_initializers": deduplicated,
    }


def _deduplicate_initializers(model: Any) -> int:
    """Merge identical initializers of an ONNX IR model in place; returns how many were removed.

    The exporter's constant folding turns the ``weight_hh.t()`` of every unrolled time step into
    its own initializer, and its own deduplication skips tensors over 1024 elements, so without
    this pass the ONNX file holds one copy of each transposed recurrent weight per time step.
    Contents are compared in full, not by hash. Skipped (returns 0) where onnx_ir lacks the pass.
    """
    try:
        from onnx_ir.passes.common import DeduplicateInitializersPass
    except ImportError:
        return 0
    before = len(model.graph.initializers)
    DeduplicateInitializersPass(size_limit=1 << 62)(model)
    return before - len(model.graph.initializers)


def _run_onnxruntime(path: Path, inputs: Mapping[int, Tensor]) -> dict[int, Tensor]:
    ort = _require("onnxruntime", "checking the ONNX export")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    results = {}
    for batch, x in inputs.items():
        (y, *_) = session.run(None, {name: x.detach().cpu().numpy()})
        results[batch] = torch.from_numpy(y)
    return results


def _compare(
    fmt: str, actual: Mapping[int, Tensor], expected: Mapping[int, Tensor], tolerance: float
) -> dict[str, Any]:
    """Max |actual - expected| per batch size; raises :class:`ExportVerificationError` above tolerance."""
    per_batch: dict[str, float] = {}
    for batch, want in expected.items():
        got = actual[batch].detach().cpu()
        want = want.detach().cpu()
        if got.shape != want.shape:
            raise ExportVerificationError(
                f"{fmt}: output shape {tuple(got.shape)} differs from eager {tuple(want.shape)} "
                f"for a batch of {batch}"
            )
        diff = (got.double() - want.double()).abs().max().item() if want.numel() else 0.0
        if not diff <= tolerance:  # also catches NaN
            raise ExportVerificationError(
                f"{fmt}: max abs difference from eager is {diff:.3g} for a batch of {batch}, above the "
                f"tolerance {tolerance:.3g}"
            )
        per_batch[str(batch)] = diff
    return {"max_abs_diff": max(per_batch.values()), "max_abs_diff_per_batch": per_batch}
