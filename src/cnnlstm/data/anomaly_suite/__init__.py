"""The generated anomaly suite: GutenTAG configurations checked in beside this file, built on demand.

``univariate.yaml`` and ``multivariate.yaml`` are GutenTAG (Wenig et al., ``timeeval-gutentag``)
configurations: every anomaly kind GutenTAG offers on periodic and random-walk bases, two
lengths, one or two anomalies per series, and 3-channel series with anomalies on two channels.
:func:`build_suite` runs the generator with a fixed seed and writes, per series, a normal
``train.csv`` and a labelled ``test.csv`` (columns ``timestamp``, ``value-0`` ..., ``is_anomaly``),
which :class:`~cnnlstm.data.anomaly.AnomalyDataModule` reads as ``path=<series>/test.csv``,
``train_path=<series>/train.csv``.

GutenTAG is the optional extra ``[anomaly-suite]``, not part of ``[test]``: it pins
``scipy<1.15``, which the forecasting extra's mlxtend 0.25 (``scipy>=1.16.3``) excludes, so
installing both makes pip fall back to mlxtend 0.23 and scipy 1.14 (docs/anomaly.md). The
generator itself runs with scipy 1.17 for every base used here (its ECG base does not, and is
left out).

Example (needs the extra):
    >>> series = build_suite("/tmp/suite", configs=["multivariate"])  # doctest: +SKIP
    >>> series[0]                                                     # doctest: +SKIP
    SuiteSeries(name='multi-amplitude', ...)
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlstm._validation import check_choice, check_non_negative_int

__all__ = ["CONFIGS", "CONFIG_DIR", "SuiteSeries", "build_suite", "load_config"]

CONFIG_DIR = Path(__file__).resolve().parent
CONFIGS = ("univariate", "multivariate")
_INSTALL_HINT = 'the generated suite needs GutenTAG: pip install "cnnlstm[anomaly-suite]"'


@dataclass(frozen=True)
class SuiteSeries:
    """One generated series: its name, the anomaly kinds in it, its files and channel count."""

    name: str
    kinds: tuple[str, ...]
    train: Path
    test: Path
    channels: int


def load_config(name: str) -> dict[str, Any]:
    """The parsed YAML of configuration ``name`` (one of :data:`CONFIGS`)."""
    import yaml

    check_choice("configs", name, CONFIGS)
    return dict(yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text()))


def _kinds(entry: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted({k["kind"] for a in entry["anomalies"] for k in a["kinds"]}))


def build_suite(
    out_dir: str | Path, *, configs: Sequence[str] = CONFIGS, seed: int = 0, only: Sequence[str] | None = None
) -> list[SuiteSeries]:
    """Generate the suite's series into ``out_dir`` (``<out_dir>/<name>/{train,test}.csv``).

    Args:
        out_dir: where to write.
        configs: which configurations (:data:`CONFIGS`).
        seed: GutenTAG's seed; the same seed gives the same files.
        only: names of the series to build (default: all).
    """
    try:
        from gutenTAG import GutenTAG
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    seed = check_non_negative_int("seed", seed)
    out = Path(out_dir)
    built = []
    for name in configs:
        config = load_config(name)
        if only is not None:
            config["timeseries"] = [t for t in config["timeseries"] if t["name"] in set(only)]
        if not config["timeseries"]:
            continue
        logging.getLogger("GutenTAG").setLevel(logging.ERROR)
        # GutenTAG reports progress with tqdm on stderr; the suite is small, so it stays quiet here
        with contextlib.redirect_stderr(io.StringIO()):
            generated = GutenTAG(seed=seed).load_config_dict(config).generate(return_timeseries=True)
        files: dict[str, dict[str, Any]] = {}
        for ts in generated or []:
            kind = "test" if ts.training_type.value == "test" else "train"
            folder = out / ts.name
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{kind}.csv"
            ts.timeseries.to_csv(path, index=True, index_label="timestamp")
            files.setdefault(ts.name, {})[kind] = path
            files[ts.name]["channels"] = ts.timeseries.shape[1] - 1
        for entry in config["timeseries"]:
            f = files[entry["name"]]
            built.append(SuiteSeries(entry["name"], _kinds(entry), f["train"], f["test"], f["channels"]))
    return built
