"""The model registry: one way to build every model, by name.

A model file registers small builder functions with :func:`register_model`; importing
``cnnlstm.models`` imports every model file, so every name is known to :func:`create_model`.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from cnnlstm._io import one_line, read_state_dict

__all__ = [
    "ModelInfo",
    "UnknownModelError",
    "create_model",
    "list_models",
    "load_weights",
    "model_info",
    "register_model",
    "shape_kwargs_for",
    "with_defaults",
]

TASKS = ("classification", "forecasting")


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows of a model: enough to build it and feed it a batch.

    Attributes:
        name: registered name.
        builder: function returning the ``nn.Module``; takes keyword arguments only.
        task: kind of problem the model's output answers (``"classification"`` ...).
        modality: kind of input (``"video"``, ``"sensor"`` ...).
        input_size: one sample's nominal input shape, e.g. ``(T, C, H, W)``.
        test_input_size: a smaller input the model also accepts, used by tests and the demo.
        description: the builder's first docstring line.
        shape_kwargs: constructor arguments read from the data's sample shape, as
            ``{argument: index}`` (an int, or a tuple of ints for a tuple argument), e.g.
            ``{"in_channels": -1}`` for ``(T, C)`` series; :func:`shape_kwargs_for` fills them.
    """

    name: str
    builder: Callable[..., nn.Module]
    task: str
    modality: str
    input_size: tuple[int, ...]
    test_input_size: tuple[int, ...]
    description: str
    shape_kwargs: tuple[tuple[str, int | tuple[int, ...]], ...] = ()

    @property
    def is_tiny(self) -> bool:
        return self.name.endswith("_tiny")


class UnknownModelError(ValueError):
    """Raised for a model name the registry does not know; the message lists the closest names."""


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    *,
    task: str,
    modality: str,
    input_size: Iterable[int],
    test_input_size: Iterable[int] | None = None,
    shape_kwargs: dict[str, int | tuple[int, ...]] | None = None,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder under its function name; a duplicate name is an error.

    Example:
        >>> @register_model(task="classification", modality="video", input_size=(8, 3, 32, 32))
        ... def my_model_tiny(**kwargs):
        ...     '''My tiny model.'''
        ...     return MyModel(**kwargs)
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}; received task={task!r}")
    size = tuple(int(s) for s in input_size)
    test_size = size if test_input_size is None else tuple(int(s) for s in test_input_size)

    def decorate(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = fn.__name__
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered (by {_REGISTRY[name].builder.__module__})")
        doc = inspect.getdoc(fn) or ""
        _REGISTRY[name] = ModelInfo(
            name=name,
            builder=fn,
            task=task,
            modality=modality,
            input_size=size,
            test_input_size=test_size,
            description=doc.splitlines()[0] if doc else "",
            shape_kwargs=tuple((shape_kwargs or {}).items()),
        )
        return fn

    return decorate


def with_defaults(
    cls: Callable[..., nn.Module], defaults: dict[str, Any], kwargs: dict[str, Any]
) -> nn.Module:
    """``cls(**defaults)`` with the caller's ``kwargs`` taking precedence: the body of a variant builder.

    Example:
        >>> with_defaults(nn.Linear, {"in_features": 4, "out_features": 2}, {"out_features": 3}).out_features
        3
    """
    return cls(**{**defaults, **kwargs})


def shape_kwargs_for(name: str, input_shape: Sequence[int] | None) -> dict[str, Any]:
    """The constructor arguments of model ``name`` that follow from one sample's ``input_shape``.

    Example:
        >>> shape_kwargs_for("deepconvlstm", [128, 9])
        {'in_channels': 9}
    """
    if not input_shape:
        return {}
    shape = list(input_shape)
    out: dict[str, Any] = {}
    for argument, index in model_info(name).shape_kwargs:
        try:
            out[argument] = [shape[i] for i in index] if isinstance(index, tuple) else shape[index]
        except IndexError:
            raise ValueError(
                f"model {name!r} reads {argument} from dimension {index} of the sample shape, but the data's "
                f"samples are {shape}; choose a model for this kind of data (cnnlstm models)"
            ) from None
    return out


def list_models(
    pattern: str | Iterable[str] = "*",
    *,
    exclude: str | Iterable[str] = (),
    task: str | None = None,
) -> list[str]:
    """Sorted registered names matching any of the wildcard ``pattern``s and none of ``exclude``.

    Example:
        >>> list_models("lrcn*")
        ['lrcn', 'lrcn_tiny']
    """
    include = [pattern] if isinstance(pattern, str) else list(pattern)
    excluded = [exclude] if isinstance(exclude, str) else list(exclude)
    names = []
    for name, info in _REGISTRY.items():
        if not any(fnmatch.fnmatchcase(name, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in excluded):
            continue
        if task is not None and info.task != task:
            continue
        names.append(name)
    return sorted(names)


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model; unknown names raise :class:`UnknownModelError`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), _REGISTRY, n=5, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}{hint} (cnnlstm.list_models() lists all {len(_REGISTRY)})"
        ) from None


def create_model(name: str, *, checkpoint_path: str | Path | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered model by name.

    Keyword arguments whose value is ``None`` are dropped, so a caller (a CLI, a config) that
    forwards unset options never overrides the model's own defaults.

    Args:
        name: a name from :func:`list_models`.
        checkpoint_path: optional weights to load (strictly): a ``.safetensors`` file, or a
            ``torch.save``'d state dict (or a checkpoint holding one under ``"state_dict"``), read
            with ``weights_only=True`` so no code is unpickled.
        **kwargs: the model's constructor arguments.

    Example:
        >>> model = create_model("lrcn_tiny", num_classes=5)
        >>> model(torch.randn(2, 6, 3, 32, 32)).shape
        torch.Size([2, 5])
    """
    info = model_info(name)
    model = info.builder(**{k: v for k, v in kwargs.items() if v is not None})
    if checkpoint_path is not None:
        load_weights(model, checkpoint_path)
    return model


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load weights from ``path`` into ``model`` strictly; never unpickles arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint_path {str(path)!r} does not exist or is not a file")
    try:
        state = read_state_dict(path)
    except (ValueError, ImportError) as err:
        raise ValueError(
            f"could not read weights from {str(path)!r} ({one_line(err)}); expected a state dict saved "
            "with torch.save or a .safetensors file"
        ) from err
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise ValueError(
            f"weights in {str(path)!r} do not fit {type(model).__name__} ({first}); "
            "build the model with the arguments the weights were trained with"
        ) from err
    return model
