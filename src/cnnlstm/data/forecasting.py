"""Spatiotemporal forecasting data (given ``T_in`` frames, predict the next ``T_out``): the old home.

The forecasting data layer now lives in small modules, re-exported here so old imports keep working:

- :mod:`cnnlstm.data.moving_mnist_data` — :class:`MovingMNISTDataModule`: generated Moving MNIST
  or the standard ``mnist_test_seq.npy``;
- :mod:`cnnlstm.data.frame_sequences` — :class:`FrameSequenceDataModule`: a user's ``.npy`` /
  ``.npz`` arrays or folders of images;
- :mod:`cnnlstm.data.forecast_base` — their base (shapes, windows, splits, the predict path);
- :mod:`cnnlstm.data.frame_datasets` — :class:`FrameSequenceDataset`, :class:`ForecastInputDataset`;
- :mod:`cnnlstm.data.frame_files` — :func:`load_array`, :func:`load_image_folder`, :func:`load_sequences`.

:class:`ForecastDataModule` is deprecated (kept for one release): it warns and builds one of the two
data modules from its old arguments, so old configs run with the same samples, splits and seeds.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from cnnlstm._validation import InputError, check_positive_int
from cnnlstm.data.forecast_base import FrameForecastDataModule, existing_path
from cnnlstm.data.frame_datasets import ForecastInputDataset, FrameSequenceDataset, frames_to_tensor
from cnnlstm.data.frame_files import IMAGE_SUFFIXES, load_array, load_image_folder, load_sequences
from cnnlstm.data.frame_sequences import FrameSequenceDataModule
from cnnlstm.data.moving_mnist import is_standard_layout
from cnnlstm.data.moving_mnist_data import (
    TEST_SEED,
    MovingMNISTDataModule,
    check_sequence_length,
    read_standard_file,
)

__all__ = [
    "FrameSequenceDataset",
    "ForecastDataModule",
    "ForecastInputDataset",
    "FrameForecastDataModule",
    "FrameSequenceDataModule",
    "IMAGE_SUFFIXES",
    "MovingMNISTDataModule",
    "TEST_SEED",
    "frames_to_tensor",
    "load_array",
    "load_image_folder",
    "load_sequences",
]

_COMMON = (
    "input_frames",
    "target_frames",
    "stride",
    "val_fraction",
    "predict_path",
    "batch_size",
    "num_workers",
    "seed",
)
_GENERATOR = ("sequence_length", "num_train", "num_val", "num_test", "image_size", "num_digits")
_FILES = ("key", "test_path", "channels")


class _StandardFileSequences(FrameSequenceDataModule):
    """The old ``ForecastDataModule(path="mnist_test_seq.npy", ...)`` with ``test_path``, ``key`` or
    ``channels``: the standard file read time first, everything else as a user's data."""

    def _read(self, path: Path) -> tuple[Any, list[str]]:
        return read_standard_file(path) if path == self.path else super()._read(path)


def _is_standard_file(path: str | Path) -> bool:
    path = Path(path)
    if not path.is_file() or path.suffix.lower() != ".npy":
        return False
    try:
        return is_standard_layout(load_array(path))
    except ValueError:
        return False  # read as a user's file, which reports the problem


def _check_generator_args(old: dict[str, Any]) -> None:
    """The old constructor checked the generator's arguments whatever the data: so does the shim."""
    window = check_positive_int("input_frames", old["input_frames"])
    window += check_positive_int("target_frames", old["target_frames"])
    check_sequence_length(old["sequence_length"], window)
    for name in ("num_train", "num_val", "num_test", "image_size", "num_digits"):
        check_positive_int(name, old[name])
    if old["channels"] is not None and old["channels"] not in (1, 3):
        raise InputError(
            f"channels must be 1, 3 or None; received channels={old['channels']!r}", field="channels"
        )


def _build(old: dict[str, Any]) -> FrameForecastDataModule:
    """The new data module for the old arguments ``old`` (every parameter of ForecastDataModule)."""
    _check_generator_args(old)
    source, path = old["source"], old["path"]
    common = {name: old[name] for name in _COMMON}
    files = {name: old[name] for name in _FILES}
    if not isinstance(source, (str, Path)) or not str(source):
        raise InputError(
            f"source must be 'moving_mnist' or a path; received source={source!r}", field="source"
        )
    if str(source) != "moving_mnist":
        if path is not None:
            raise InputError(
                f"give the data either as source or as path, not both; "
                f"received source={source!r}, path={path!r}",
                field="path",
            )
        existing_path("source", source)
        return FrameSequenceDataModule(path=source, **files, **common)
    existing_path("path", path)
    if path is None:
        if files["channels"] not in (None, 1):
            raise InputError(
                f"generated Moving MNIST has 1 channel; received channels={files['channels']!r}",
                field="channels",
            )
        existing_path("test_path", files["test_path"])  # checked, then unused, as before
        return MovingMNISTDataModule(**{name: old[name] for name in _GENERATOR}, **common)
    if not _is_standard_file(path):
        return FrameSequenceDataModule(path=path, **files, **common)
    if all(value is None for value in files.values()):
        return MovingMNISTDataModule(path=path, **common)
    return _StandardFileSequences(path=path, **files, **common)


class ForecastDataModule(FrameForecastDataModule):
    """Deprecated: use :class:`MovingMNISTDataModule` or :class:`FrameSequenceDataModule`.

    Calling it warns (``DeprecationWarning``) and returns the new module for the old arguments:

    - ``source="moving_mnist"`` without ``path`` → ``MovingMNISTDataModule`` (generated);
    - ``source="moving_mnist"`` with ``path`` of the standard ``mnist_test_seq.npy`` →
      ``MovingMNISTDataModule(path=...)`` (with ``test_path``, ``key`` or ``channels``, a
      ``FrameSequenceDataModule`` that reads the standard file time first);
    - ``source=<path>``, or ``path`` holding other data → ``FrameSequenceDataModule(path=...)``.

    The arguments are the old ones (see the two modules); the result is not an instance of this
    class.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", DeprecationWarning)
        ...     dm = ForecastDataModule(num_train=8, num_val=4, num_test=4)
        >>> type(dm).__name__
        'MovingMNISTDataModule'
    """

    def __new__(  # type: ignore[misc]
        cls,
        *,
        source: str = "moving_mnist",
        path: str | None = None,
        key: str | None = None,
        input_frames: int = 10,
        target_frames: int = 10,
        stride: int | None = None,
        sequence_length: int | None = None,
        num_train: int = 10_000,
        num_val: int = 1_000,
        num_test: int = 2_000,
        image_size: int = 64,
        num_digits: int = 2,
        val_fraction: float = 0.1,
        test_path: str | None = None,
        predict_path: str | None = None,
        channels: int | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
    ) -> FrameForecastDataModule:
        # The old argument list: the CLI reads it (from __new__) to parse old configs.
        old = {name: value for name, value in locals().items() if name != "cls"}
        warnings.warn(
            "ForecastDataModule is deprecated and will be removed in the next release; use "
            "cnnlstm.data.MovingMNISTDataModule (generated Moving MNIST or mnist_test_seq.npy as path) "
            "or cnnlstm.data.FrameSequenceDataModule (your .npy/.npz files or image folders as path)",
            DeprecationWarning,
            stacklevel=2,
        )
        return _build(old)

    def __init__(self, **kwargs: Any) -> None:
        # Never runs: __new__ returns another class's instance, so Python skips this.
        raise TypeError("ForecastDataModule builds another data module; it is never initialised itself")
