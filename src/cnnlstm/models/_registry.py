"""The model registry: one way to build every model, by name.

A model file registers small builder functions with :func:`register_model`; importing
``cnnlstm.models`` imports every model file, so every name is known to :func:`create_model`.
A renamed model keeps its old name as a deprecated alias (:func:`register_deprecated_alias`):
the old name still builds the model, with a ``FutureWarning``, and :func:`list_models` leaves it out.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from torch import nn

from cnnlstm._io import one_line, read_state_dict
from cnnlstm.models._base import can_stream

__all__ = [
    "TASKS",
    "ModelInfo",
    "UnknownModelError",
    "create_model",
    "list_models",
    "load_weights",
    "model_info",
    "register_deprecated_alias",
    "register_model",
    "shape_kwargs_for",
    "with_defaults",
]

TASKS = ("classification", "forecasting", "speech", "anomaly", "seq2seq")
"""The kinds of problem a registered model answers (``ModelInfo.task``)."""

M = TypeVar("M", bound=nn.Module)
Builder = TypeVar("Builder", bound=Callable[..., nn.Module])


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows of a model: enough to build it and feed it a batch.

    Attributes:
        name: registered name.
        builder: function returning the ``nn.Module``; takes keyword arguments only.
        task: kind of problem the model's output answers (one of :data:`TASKS`).
        modality: kind of input (``"video"``, ``"sensor"``, ``"frames"`` ...).
        input_size: one sample's nominal input shape, e.g. ``(T, C, H, W)``.
        test_input_size: a smaller input the model also accepts, used by tests and the demo.
        description: the builder's first docstring line.
        shape_kwargs: constructor arguments read from the data's sample shape, as
            ``{argument: index}`` (an int, or a tuple of ints for a tuple argument), e.g.
            ``{"in_channels": -1}`` for ``(T, C)`` series; :func:`shape_kwargs_for` fills them.
        streams: the model runs one time step at a time (``init_state`` and ``step``, see
            :class:`cnnlstm.models.StreamingModel`), as :class:`cnnlstm.deploy.Stream` needs.
    """

    name: str
    builder: Callable[..., nn.Module]
    task: str
    modality: str
    input_size: tuple[int, ...]
    test_input_size: tuple[int, ...]
    description: str
    shape_kwargs: tuple[tuple[str, int | tuple[int, ...]], ...] = ()
    streams: bool = False


class UnknownModelError(ValueError):
    """Raised for a model name the registry does not know; the message lists the closest names."""


_REGISTRY: dict[str, ModelInfo] = {}
_ALIASES: dict[str, str] = {}  # deprecated name -> current name


def register_model(
    *,
    task: str,
    modality: str,
    input_size: Iterable[int],
    test_input_size: Iterable[int] | None = None,
    shape_kwargs: Mapping[str, int | tuple[int, ...]] | None = None,
    streams: bool = False,
) -> Callable[[Builder], Builder]:
    """Decorator registering a builder under its function name; a duplicate name is an error.

    ``streams=True`` declares that the model has ``init_state`` and ``step``. The declaration is
    checked here against the class the builder's return annotation names, and on every model
    :func:`create_model` builds.

    Example (a model file does this; run here, it would add the model to the process's registry):
        >>> @register_model(  # doctest: +SKIP
        ...     task="classification", modality="video", input_size=(8, 3, 32, 32)
        ... )
        ... def my_model_tiny(**kwargs: Any) -> MyModel:
        ...     '''My tiny model, for tests and tutorials.'''
        ...     return with_defaults(MyModel, dict(hidden=8), kwargs)
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}; received task={task!r}")
    size = tuple(int(s) for s in input_size)
    test_size = size if test_input_size is None else tuple(int(s) for s in test_input_size)

    def decorate(fn: Builder) -> Builder:
        name = fn.__name__
        if name in _REGISTRY or name in _ALIASES:
            owner = _REGISTRY[_ALIASES.get(name, name)].builder.__module__
            raise ValueError(f"model {name!r} is already registered (by {owner})")
        _check_streams_declaration(name, fn, streams)
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
            streams=bool(streams),
        )
        return fn

    return decorate


def _check_streams_declaration(name: str, builder: Callable[..., nn.Module], streams: bool) -> None:
    """Refuse a ``streams`` flag that the class named by the builder's return annotation contradicts."""
    try:
        built = typing.get_type_hints(builder).get("return")
    except Exception:  # an annotation that does not resolve here: the built model is checked instead
        return
    if not isinstance(built, type) or not issubclass(built, nn.Module) or built is nn.Module:
        return
    if can_stream(built) != bool(streams):
        has = "has" if can_stream(built) else "has no"
        raise ValueError(
            f"model {name!r} is registered with streams={streams!r} but {built.__name__} {has} "
            f"init_state/step; register it with streams={can_stream(built)!r}"
        )


def register_deprecated_alias(alias: str, name: str) -> None:
    """Keep ``alias``, a former name of model ``name``, working: it builds ``name``, with a ``FutureWarning``.

    An alias resolves in :func:`create_model`, :func:`model_info` and :func:`shape_kwargs_for`;
    :func:`list_models` lists it only with ``include_deprecated=True``.
    """
    if name not in _REGISTRY:
        raise ValueError(f"alias {alias!r} names model {name!r}, which is not registered")
    if alias in _REGISTRY or alias in _ALIASES:
        raise ValueError(f"model {alias!r} is already registered")
    _ALIASES[alias] = name


def with_defaults(cls: Callable[..., M], defaults: Mapping[str, Any], kwargs: Mapping[str, Any]) -> M:
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
    for argument, index in _resolve(name, stacklevel=3).shape_kwargs:
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
    streams: bool | None = None,
    include_deprecated: bool = False,
) -> list[str]:
    """Sorted registered names matching any of the wildcard ``pattern``s and none of ``exclude``.

    ``task`` and ``streams``, when given, keep the models whose :class:`ModelInfo` has that value;
    ``include_deprecated=True`` adds the deprecated aliases that match.

    Example:
        >>> list_models("lrcn*")
        ['lrcn', 'lrcn_tiny']
        >>> list_models("*_tiny", task="forecasting", streams=True)
        ['convgru_forecaster_tiny', 'convlstm_forecaster_tiny', 'convlstm_single_stack_tiny', 'predrnn_forecaster_tiny']
    """
    include = [pattern] if isinstance(pattern, str) else list(pattern)
    excluded = [exclude] if isinstance(exclude, str) else list(exclude)
    names = [*_REGISTRY, *(_ALIASES if include_deprecated else ())]
    kept = []
    for name in names:
        info = _REGISTRY[_ALIASES.get(name, name)]
        if not any(fnmatch.fnmatchcase(name, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in excluded):
            continue
        if (task is not None and info.task != task) or (streams is not None and info.streams != streams):
            continue
        kept.append(name)
    return sorted(kept)


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model; unknown names raise :class:`UnknownModelError`.

    A deprecated alias gives its model's info, with a ``FutureWarning`` naming the current name.

    Example:
        >>> model_info("lrcn_tiny").input_size
        (6, 3, 32, 32)
    """
    return _resolve(name, stacklevel=3)


def _resolve(name: str, *, stacklevel: int) -> ModelInfo:
    """The info of ``name``; ``stacklevel`` points a deprecation warning at the public function's caller."""
    if name in _ALIASES:
        # FutureWarning, not DeprecationWarning: model names are written by the users of the command
        # line and of config files, and Python shows them FutureWarning by default (it hides
        # DeprecationWarning outside __main__).
        warnings.warn(
            f"model name {name!r} is deprecated and will be removed; use {_ALIASES[name]!r}",
            FutureWarning,
            stacklevel=stacklevel,
        )
        return _REGISTRY[_ALIASES[name]]
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
    info = _resolve(name, stacklevel=3)
    model = info.builder(**{k: v for k, v in kwargs.items() if v is not None})
    if info.streams and not can_stream(model):
        raise TypeError(
            f"model {info.name!r} is registered with streams=True but {type(model).__name__} has no "
            "init_state/step; register it with streams=False, or give the class both methods"
        )
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
