"""Rebuild an exported model from ``config.json`` and ``model.safetensors``, unpickling nothing.

:func:`load_pretrained` reads the JSON config written by :func:`cnnlstm.deploy.export_model`
(registry name, constructor arguments, input shape), builds the model through the registry and
loads the safetensors weights strictly; a directory from an untrusted source cannot run code.
``load_pretrained(dir, with_preprocess=True)`` also returns the class names and a
:class:`~cnnlstm.deploy.preprocess.Preprocess` built from the stored preprocessing, in a
:class:`Pretrained`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import torch
from torch import Tensor, nn

from cnnlstm._io import one_line
from cnnlstm.deploy._common import CONFIG_FILE, FORMAT_VERSION, LAYOUTS, WEIGHTS_FILE
from cnnlstm.deploy.preprocess import Preprocess
from cnnlstm.deploy.safetensors_io import read_safetensors

__all__ = ["Pretrained", "export_config", "load_pretrained", "read_config"]


@dataclass(frozen=True)
class Pretrained:
    """An exported model with what it needs around it: ``load_pretrained(dir, with_preprocess=True)``.

    Attributes:
        model: the model, in eval mode.
        preprocess: raw input → model input (a video file, a camera frame, a sensor recording; see
            :class:`~cnnlstm.deploy.preprocess.Preprocess`), with the stored preprocessing.
        class_names: the name of each output class (None when the export has none).
        config: ``config.json`` as read.
    """

    model: nn.Module
    preprocess: Preprocess
    class_names: list[str] | None
    config: dict[str, Any]

    @torch.no_grad()
    def predict(self, raw: Any) -> Tensor:
        """Class probabilities for a raw input: ``(1, K)`` for a video (its clips' logits averaged, as
        evaluation does), ``(N, K)`` for the N windows of a recording or ``(1, K)`` for a series.

        A camera frame is one time step: stream frames with :class:`cnnlstm.deploy.Stream` instead.
        """
        x = self.preprocess(raw)
        if self.preprocess.kind == "frames" and x.dim() == 4:
            raise ValueError(
                "a single frame is one time step; feed frames to cnnlstm.deploy.Stream(pretrained.model).push"
            )
        first = next(self.model.parameters(), None)
        logits = self.model(x.to(first.device) if first is not None else x)
        if self.preprocess.kind == "frames":
            logits = logits.mean(dim=0, keepdim=True)  # clips_per_video clips of one video
        return torch.softmax(logits, dim=-1)


@overload
def load_pretrained(
    path: str | os.PathLike[str],
    *,
    map_location: str | torch.device = ...,
    with_preprocess: Literal[False] = ...,
) -> nn.Module: ...


@overload
def load_pretrained(
    path: str | os.PathLike[str], *, map_location: str | torch.device = ..., with_preprocess: Literal[True]
) -> Pretrained: ...


def load_pretrained(
    path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu", with_preprocess: bool = False
) -> nn.Module | Pretrained:
    """Rebuild a model exported by :func:`export_model` from ``config.json`` and ``model.safetensors``.

    Nothing is unpickled: the config is JSON and the weights are safetensors. A ``model.safetensors``
    that is really a ``torch.save`` (pickle) file is refused, not opened.

    Args:
        path: the export directory.
        map_location: device the model is moved to (the weights are read on the CPU, then moved).
        with_preprocess: return a :class:`Pretrained` (the model, ``preprocess``, ``class_names``,
            the config) instead of the model alone.

    Returns:
        The model built with ``cnnlstm.create_model(model_name, **model_kwargs)``, weights loaded
        strictly, in eval mode; with ``with_preprocess=True``, a :class:`Pretrained` holding it.

    Raises:
        FileNotFoundError: the directory, ``config.json`` or ``model.safetensors`` is missing.
        ValueError: malformed ``config.json`` or a missing/invalid field (named), an unreadable or
            non-safetensors weights file, or weights that do not fit the model.
        cnnlstm.models.UnknownModelError: ``model_name`` is not registered.

    Example:
        >>> from cnnlstm import create_model
        >>> from cnnlstm.deploy import export_model
        >>> _ = export_model(create_model("lrcn_tiny", num_classes=5), model_name="lrcn_tiny",
        ...                  model_kwargs={"num_classes": 5}, example_input=torch.randn(2, 6, 3, 32, 32),
        ...                  output_dir="lrcn_export", formats=["safetensors"])
        >>> model = load_pretrained("lrcn_export")
        >>> model(torch.randn(2, 6, 3, 32, 32)).shape
        torch.Size([2, 5])
        >>> load_pretrained("lrcn_export", with_preprocess=True).preprocess
        Preprocess(kind='frames', input_shape=[6, 3, 32, 32], keys=[])
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
    config = read_config(directory / CONFIG_FILE)
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
            f"{CONFIG_FILE} field 'model_kwargs' does not build {name!r} ({one_line(err, sep='; ', limit=400)}); "
            f"fix model_kwargs in {str(directory / CONFIG_FILE)!r}"
        ) from err
    state = read_safetensors(weights)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"weights in {str(weights)!r} do not fit {name!r} built from {CONFIG_FILE} "
            f"({one_line(err, sep='; ', skip_first=True, limit=400)}); re-export the model or fix model_kwargs in {CONFIG_FILE}"
        ) from err
    model = model.to(torch.device(map_location)).eval()
    if not with_preprocess:
        return model
    return _pretrained(model, config, directory / CONFIG_FILE)


def _pretrained(model: nn.Module, config: dict[str, Any], path: Path) -> Pretrained:
    """The :class:`Pretrained` of a loaded model; checks the optional fields it reads."""
    names = config.get("class_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ValueError(f"{str(path)!r} field 'class_names' must be a list of strings; found {names!r}")
    preprocessing = config.get("preprocessing", {})
    if not isinstance(preprocessing, dict):
        raise ValueError(
            f"{str(path)!r} field 'preprocessing' must be a JSON object; found {preprocessing!r}"
        )
    shape = config.get("input_shape")
    if not (isinstance(shape, list) and len(shape) in (2, 4) and all(isinstance(v, int) for v in shape)):
        raise ValueError(
            f"{str(path)!r} field 'input_shape' must be [T, C, H, W] or [T, C]; found {shape!r}; re-export the model"
        )
    source = f"{str(path)!r} field 'preprocessing'"
    return Pretrained(
        model, Preprocess(preprocessing=preprocessing, input_shape=shape, source=source), names, config
    )


def export_config(
    model: nn.Module, model_name: str, kwargs: dict[str, Any], example_input: Tensor, files: list[str]
) -> dict[str, Any]:
    from cnnlstm._version import __version__

    sample = list(example_input.shape[1:])
    config: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "cnnlstm_version": __version__,
        "model_name": model_name,
        "model_kwargs": kwargs,
        "input_shape": sample,
        "input_layout": LAYOUTS.get(example_input.dim(), f"(B, {len(sample)} dims)"),
    }
    num_classes = getattr(model, "num_classes", None)
    if isinstance(num_classes, int) and not isinstance(num_classes, bool):
        config["num_classes"] = num_classes
    config["files"] = files
    config["torch_version"] = torch.__version__
    return config


def read_config(path: Path) -> dict[str, Any]:
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
        return ValueError(f"{str(path)!r} field {field!r} must be {expected}; found {config[field]!r}")

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
