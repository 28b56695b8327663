"""The UCR/UEA sets that the installed sktime and aeon ship: finding them offline and reading them.

Both packages' ``datasets/data`` folders are searched without importing either (sktime takes a
second to import, aeon more); a set counts when its folder holds ``NAME_TRAIN.ts`` and
``NAME_TEST.ts`` whose header declares class labels. Nothing is ever downloaded.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnlstm._validation import InputError
from cnnlstm.data.timeseries_files import declares_classes

__all__ = ["BUNDLING_PACKAGES", "available_datasets", "find_bundled", "load_split"]

_INSTALL_HINT = (
    'the bundled UCR/UEA datasets ship with sktime or aeon; install sktime with: pip install "cnnlstm[timeseries]" '
    '(and "cnnlstm[aeon]" for the sets only aeon ships)'
)
_READER_HINT = (
    'reading the bundled UCR/UEA datasets needs sktime; install it with: pip install "cnnlstm[timeseries]"'
)


def _close_names(name: str, choices: Sequence[str]) -> list[str]:
    close = difflib.get_close_matches(name, choices, n=5, cutoff=0.4)
    lower = {c.lower(): c for c in choices}
    if name.lower() in lower and lower[name.lower()] not in close:
        close.insert(0, lower[name.lower()])
    return close


#: The packages whose ``datasets/data`` folder is searched, in this order: a set both ship is read
#: from the first one's copy.
BUNDLING_PACKAGES = ("sktime", "aeon")


def _package_data_dir(package: str) -> Path | None:
    """``<package>/datasets/data`` of an installed package, found without importing it (sktime takes
    a second to import, aeon more); None when the package is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def _bundled_dirs() -> list[tuple[str, Path]]:
    """``(package, data folder)`` of each installed package of :data:`BUNDLING_PACKAGES`, in order."""
    found = [(package, folder) for package in BUNDLING_PACKAGES if (folder := _package_data_dir(package))]
    if not found:
        raise ImportError(_INSTALL_HINT)
    return found


def _bundled_sets(*, classification: bool = True) -> dict[str, tuple[str, Path]]:
    """Every bundled set as ``name -> (package, folder holding NAME_TRAIN.ts and NAME_TEST.ts)``.

    The first package of :data:`BUNDLING_PACKAGES` that ships a name gives its folder. With
    ``classification=False`` the sets whose header declares no class labels are kept too.
    """
    sets: dict[str, tuple[str, Path]] = {}
    for package, root in _bundled_dirs():
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            train, test = folder / f"{folder.name}_TRAIN.ts", folder / f"{folder.name}_TEST.ts"
            if folder.name in sets or not (train.is_file() and test.is_file()):
                continue
            if not classification or declares_classes(train):
                sets[folder.name] = (package, folder)
    return sets


def available_datasets() -> list[str]:
    """The UCR/UEA classification datasets bundled with the installed sktime and aeon (offline).

    Both packages' ``datasets/data`` folders are searched (located without importing either);
    a dataset counts when its folder holds ``<name>_TRAIN.ts`` and ``<name>_TEST.ts`` and the
    header declares class labels, so regression sets (Covid3Month, Tecator, CardanoSentiment) are
    left out. A set both packages ship is listed once and read from sktime's copy. Nothing is
    ever downloaded.

    Example:
        >>> "BasicMotions" in available_datasets()
        True
    """
    return sorted(_bundled_sets())


def find_bundled(name: Any) -> tuple[str, Path]:
    """``(package, folder)`` of the bundled classification set ``name``; an InputError naming the
    close names otherwise, or saying that ``name`` is a regression set."""
    if not isinstance(name, str) or not name:
        raise InputError(
            f"name must be a dataset name such as 'BasicMotions'; received name={name!r}", field="name"
        )
    sets = _bundled_sets()
    if name in sets:
        return sets[name]
    available = sorted(sets)
    if name in _bundled_sets(classification=False):
        raise InputError(
            f"{name!r} is a regression dataset (no class labels); UCRDataModule classifies, "
            f"choose one of {available}",
            field="name",
        )
    close = _close_names(name, available)
    hint = f"closest: {close}; " if close else ""
    packages = " and ".join(package for package, _ in _bundled_dirs())
    raise InputError(
        f"UCR/UEA dataset {name!r} is not bundled with the installed {packages} ({hint}available: "
        f"{available}); only bundled datasets work offline, nothing is downloaded: give an archive "
        "file with path=NAME_TRAIN.ts instead",
        field="name",
    )


@functools.lru_cache(maxsize=8)
def load_split(name: str, split: str, root: Path) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """One split of the set in ``root / name`` (sktime's or aeon's data folder) as read-only
    ``(T_i, C)`` float arrays and the string labels, read with sktime's reader (cached: the bundled
    files never change, and several datamodules of one dataset then read them once)."""
    try:
        from sktime.datasets import load_UCR_UEA_dataset
    except ImportError as err:
        raise ImportError(_READER_HINT) from err

    # "nested_univ" (a pd.Series per cell) keeps unequal lengths; numpy3D would refuse them. The
    # set is in root (found by find_bundled), so sktime reads it from there and downloads nothing.
    frame, labels = load_UCR_UEA_dataset(
        name, split=split, return_X_y=True, return_type="nested_univ", extract_path=str(root)
    )
    series = []
    for i, row in enumerate(frame.to_numpy()):
        channels = [np.asarray(cell, dtype=np.float64) for cell in row]
        lengths = {len(ch) for ch in channels}
        if len(lengths) != 1:
            raise ValueError(
                f"{name} {split} case {i} has channels of different lengths {sorted(lengths)}; "
                "such cases are not supported"
            )
        case = np.stack(channels, axis=1)  # (T_i, C)
        case.flags.writeable = False
        series.append(case)
    missing = sum(int(np.isnan(s).sum()) for s in series)
    if missing:
        raise ValueError(
            f"{name} {split} split has {missing} missing (NaN) values; fill them in a copy of the "
            "data before training (UCRDataModule does not impute)"
        )
    labels = np.asarray([str(label) for label in labels])
    labels.flags.writeable = False
    return tuple(series), labels
