"""Test accuracy of the four sensor models on every UCR/UEA classification set sktime and aeon ship.

Each (dataset, model, seed) trains through the real CLI with the generic preset of the model, as
it ships — ``cnnlstm fit --config ucr-<model> --data.name <dataset> --seed_everything S
--data.seed S``, then ``cnnlstm test --ckpt_path best`` on the archive's own test split
(``cnnlstm.cli.demo.fit_and_test``). The presets follow the archive recipe (v3) of docs/results.md:
all of TRAIN trains, each univariate series z-normalised over its own steps and the channels of
multivariate sets standardised with TRAIN's statistics, a fixed budget of 4500 updates in
the fastest safe precision of the machine (``precision: auto``), and ``best`` is the epoch of the
lowest training loss; the test split is read once per run, after training. The seed sets the initialisation and
the training order.

    python benchmarks/ucr.py                                   # every shipped set x 4 models x 5 seeds
    python benchmarks/ucr.py --seeds 0 1 --datasets GunPoint --models lstm_fcn
    python benchmarks/ucr.py --seeds 2 --models lstm_fcn      # add seed 2 to the runs in the JSON

Datasets run from the cheapest (training cases x padded length) to the dearest.

Every run is kept in a JSON file (``--json``, default docs/results/ucr_archive.json), one row per
(dataset, model, seed, settings) with its test accuracy, fit time, CPU time, machine load and
finish time. An invocation adds its runs to the runs already there (``--fresh`` starts anew) and
skips a (dataset, model, seed) the file already holds with the same settings, so a grid can be
run piece by piece, interrupted and resumed; runs of other settings (``--steps``, ``--extra``...)
are kept but never mixed into the tables. ``--report`` runs nothing and prints the tables of every
run in the file. Torch runs on ``--threads`` CPU threads (default 1: more threads on a shared
2-core machine slow it down).

    python benchmarks/ucr.py --report                          # the tables of everything measured

Seed ensembles (docs/results.md, protocol item 8) train nothing: ``--ensembles`` takes every
(dataset, model) the JSON holds for all five seeds 0-4 with these settings, runs ``cnnlstm predict
--ckpt_path best`` in each run folder under ``--out`` (the archive's test split), checks that each
run's argmax accuracy there equals its recorded test accuracy, and records the soft vote of the
five (argmax of the mean class probability) under ``ensembles`` in the JSON. ``--report`` prints
them in a table of their own, beside the mean of their single runs; they never replace a cell.

    python benchmarks/ucr.py --ensembles --out runs/bench_ucr_v2 --datasets UnitTest --models lstm_fcn

Published anchors (accuracy on the archive's default train/test split; "n/a" where the source
has no result for the dataset) — see ``SOURCES`` for where each number comes from.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ucr_baselines import load_baselines
from ucr_figure import plot_accuracies

from cnnlstm._io import atomic_write_json
from cnnlstm.cli.demo import fit_and_test
from cnnlstm.data.timeseries import UCRDataModule, available_datasets

MODELS = ["deepconvlstm", "lstm_fcn", "mlstm_fcn", "cnn_bilstm"]
# The order of the tables: the classification sets sktime 1.2.0 and aeon 1.6.0 ship, cheapest first
# (training cases x padded length x channels, as shipped_datasets() computes it: UnitTest 480,
# ItalyPowerDemand 1,608, GunPoint 7,500, ArrowHead 9,036, Covid3Month_disc 140 x 84 = 11,760,
# PickupGestureWiimoteZ 50 x 361 = 18,050, BasicMotions 24,000, ...). The two aeon-only sets are
# found when aeon is installed (pip install "cnnlstm[aeon]").
DATASET_ORDER = [
    "UnitTest",
    "ItalyPowerDemand",
    "GunPoint",
    "ArrowHead",
    "Covid3Month_disc",
    "PickupGestureWiimoteZ",
    "BasicMotions",
    "OSULeaf",
    "JapaneseVowels",
    "ACSF1",
    "PLAID",
]
# The presets' recipe these runs measure (docs/results.md); runs of another recipe are never mixed in.
RECIPE = (
    "archive v3: all of TRAIN, univariate series z-normalised, multivariate channels standardised "
    "over TRAIN, 4500 updates, precision auto, best = lowest training loss"
)
# v2 z-normalised every series, multivariate ones channel by channel too; on a univariate set v3
# resolves to exactly v2's settings, so v2's runs of univariate sets are v3's (see same_recipe).
RECIPE_V2 = (
    "archive v2: all of TRAIN, each series z-normalised, 4500 updates, precision auto, "
    "best = lowest training loss"
)
# The presets' recipe before v2 (float32, 1500 updates, channels normalised over the training set);
# its runs stay in the JSON and `--report --recipe v1` prints their tables.
RECIPE_V1 = "archive: all of TRAIN, 1500 updates, best = lowest training loss"
RECIPES = {"v3": RECIPE, "v2": RECIPE_V2, "v1": RECIPE_V1}

SOURCES = {
    "fawaz2019": (
        "Ismail Fawaz, Forestier, Weber, Idoumghar & Muller, 'Deep learning for time series "
        "classification: a review', Data Mining and Knowledge Discovery 33 (2019): mean of 10 runs "
        "on the default split, UCR/UEA-85 table (GunPoint, ItalyPowerDemand) and MTS-archive table "
        "(JapaneseVowels); the authors' repository hfawaz/dl-4-tsc, results/results-uea-avg-std.csv "
        "and results/results-mts-avg-std.csv. BasicMotions is in neither table."
    ),
    "fawaz2019_128": (
        "The same authors' FCN and ResNet on the 128 datasets of the 2018 UCR archive, posted after the "
        "paper in hfawaz/dl-4-tsc, results/results-ucr-128.csv (5 runs, iterations 0-4, on the default "
        "split; the anchor is their mean accuracy, as the 85-dataset table gives the mean of its runs). "
        "The file does not say how the archive's unequal-length sets (PLAID, PickupGestureWiimoteZ) "
        "were made equal in length."
    ),
    "ismailfawaz2020": (
        "Ismail Fawaz et al., 'InceptionTime: Finding AlexNet for time series classification', "
        "Data Mining and Knowledge Discovery 34 (2020): ensemble of 5 Inception networks, default "
        "split, 85 UCR datasets (hfawaz/InceptionTime, results-InceptionTime-85.csv; ACSF1, PLAID and "
        "PickupGestureWiimoteZ, which are in the 2018 archive only: results-InceptionTime-128.csv). "
        "The paper has no multivariate results."
    ),
    "middlehurst2024_142": (
        "The same bake off redux on its 142 datasets, the 112 above and the 30 it adds (tsml-eval at "
        "commit b7166541, tsml_eval/publications/y2023/tsc_bakeoff/results/best/HC2_accuracy.csv, "
        "resample 0 = default split): Covid3Month_disc is one of the 30; PickupGestureWiimoteZ is "
        "there as PickupGestureWiimoteZ_eq, the same cases with every series padded to 361 steps by "
        "low-amplitude noise about its last value (aeon ships that form beside the unequal one), "
        "where cnnlstm pads with zeros and masks. This file replaced hybrid/HC2_ACC.csv in February "
        "2024 (commit 6270c37e)."
    ),
    "ruiz2021": (
        "Ruiz, Flynn, Large, Middlehurst & Bagnall, 'The great multivariate time series "
        "classification bake off', Data Mining and Knowledge Discovery 35 (2021): InceptionTime on "
        "the 26 equal-length UEA datasets, fold 0 = default split (tsml-eval, "
        "results/classification/ByClassifier/Multivariate/InceptionTime_TESTFOLDS.csv). "
        "JapaneseVowels (unequal lengths) is not among them."
    ),
    "middlehurst2021": (
        "Middlehurst, Large, Flynn, Lines, Bostrom & Bagnall, 'HIVE-COTE 2.0: a new meta ensemble "
        "for time series classification', Machine Learning 110 (2021): HC2 on the 26 equal-length "
        "UEA datasets, default split (tsml-eval, results/tsml/ByClassifier/Multivariate/"
        "HC2_TESTFOLDS.csv). JapaneseVowels (unequal lengths) is not among them."
    ),
    "middlehurst2024": (
        "Middlehurst, Schäfer & Bagnall, 'Bake off redux: a review and experimental evaluation of "
        "recent time series classification algorithms', Data Mining and Knowledge Discovery 38 "
        "(2024): HC2, fold 0 = default split (tsml-eval at commit b7166541, tsml_eval/publications/"
        "y2023/tsc_bakeoff/results/hybrid/HC2_accuracy.csv); the mean over its 30 resamples is "
        "0.998 on GunPoint and 0.963 on ItalyPowerDemand. The file replaced hybrid/HC2_ACC.csv "
        "(commit 6270c37e), whose fold 0 had ArrowHead 0.874 and ACSF1 0.930 where this one has "
        "0.869 and 0.910. PLAID (unequal lengths) is not among its datasets."
    ),
}

# dataset -> method -> (accuracy, source key), or None where the source has no number.
ANCHORS: dict[str, dict[str, tuple[float, str] | None]] = {
    "BasicMotions": {
        "FCN": None,
        "ResNet": None,
        "InceptionTime": (1.000, "ruiz2021"),
        "HC2": (1.000, "middlehurst2021"),
    },
    "JapaneseVowels": {
        "FCN": (0.993, "fawaz2019"),
        "ResNet": (0.992, "fawaz2019"),
        "InceptionTime": None,
        "HC2": None,
    },
    "GunPoint": {
        "FCN": (1.000, "fawaz2019"),
        "ResNet": (0.991, "fawaz2019"),
        "InceptionTime": (1.000, "ismailfawaz2020"),
        "HC2": (1.000, "middlehurst2024"),
    },
    "ItalyPowerDemand": {
        "FCN": (0.961, "fawaz2019"),
        "ResNet": (0.963, "fawaz2019"),
        "InceptionTime": (0.968, "ismailfawaz2020"),
        "HC2": (0.970, "middlehurst2024"),
    },
    "ArrowHead": {
        "FCN": (0.843, "fawaz2019"),
        "ResNet": (0.845, "fawaz2019"),
        "InceptionTime": (0.829, "ismailfawaz2020"),
        "HC2": (0.869, "middlehurst2024"),
    },
    "OSULeaf": {
        "FCN": (0.977, "fawaz2019"),
        "ResNet": (0.979, "fawaz2019"),
        "InceptionTime": (0.934, "ismailfawaz2020"),
        "HC2": (0.967, "middlehurst2024"),
    },
    # FCN, ResNet of ACSF1 and PLAID: hfawaz/dl-4-tsc results/results-ucr-128.csv, the mean of the 5
    # fcn rows (ACSF1 0.91, 0.90, 0.87, 0.91, 0.90; PLAID 0.9125, 0.9069, 0.9088, 0.8920, 0.8994) and
    # of the 5 resnet rows (ACSF1 0.93, 0.92, 0.93, 0.93, 0.87; PLAID 0.9479, 0.9423, 0.9404, 0.9348,
    # 0.9367). Below InceptionTime on both, so the targets stay as they were.
    "ACSF1": {
        "FCN": (0.898, "fawaz2019_128"),
        "ResNet": (0.916, "fawaz2019_128"),
        "InceptionTime": (0.920, "ismailfawaz2020"),
        "HC2": (0.910, "middlehurst2024"),
    },
    "PLAID": {
        "FCN": (0.904, "fawaz2019_128"),
        "ResNet": (0.940, "fawaz2019_128"),
        "InceptionTime": (0.944, "ismailfawaz2020"),
        "HC2": None,
    },
    # aeon's only. hfawaz/InceptionTime results-InceptionTime-128.csv, the row indexed 86 (file line
    # 88): accuracy 0.76. hfawaz/dl-4-tsc results/results-ucr-128.csv, the mean of the fcn rows
    # (iterations 0-4: 0.74, 0.78, 0.70, 0.76, 0.74) and of the resnet rows (0.72, 0.66, 0.70, 0.74,
    # 0.70). HC2: best/HC2_accuracy.csv, row PickupGestureWiimoteZ_eq, resample 0: 0.80.
    "PickupGestureWiimoteZ": {
        "FCN": (0.744, "fawaz2019_128"),
        "ResNet": (0.704, "fawaz2019_128"),
        "InceptionTime": (0.760, "ismailfawaz2020"),
        "HC2": (0.800, "middlehurst2024_142"),
    },
    # sktime's UnitTest: a 20/22-case subset of Chinatown made for sktime's tests; nothing published.
    "UnitTest": {"FCN": None, "ResNet": None, "InceptionTime": None, "HC2": None},
    # aeon's only: the series of the regression set Covid3Month with the target cut into three
    # classes, one of the 30 sets the bake off redux adds (best/HC2_accuracy.csv, row
    # Covid3Month_disc, resample 0: 0.7377); no FCN, ResNet or InceptionTime result has it.
    "Covid3Month_disc": {
        "FCN": None,
        "ResNet": None,
        "InceptionTime": None,
        "HC2": (0.738, "middlehurst2024_142"),
    },
}
DEEP_ANCHORS = ("FCN", "ResNet", "InceptionTime")


def best_deep_anchor(dataset: str) -> tuple[str, float] | None:
    """The best published deep-learning anchor (FCN, ResNet, InceptionTime) of ``dataset``."""
    deep = [(m, a[0]) for m, a in ANCHORS.get(dataset, {}).items() if m in DEEP_ANCHORS and a is not None]
    return max(deep, key=lambda ma: ma[1]) if deep else None


def target(dataset: str) -> float | None:
    """Issue 18's target for the best model of ``dataset``: within 0.02 of the best deep-learning
    anchor (FCN, ResNet, InceptionTime); JapaneseVowels at least 0.99; None without an anchor."""
    if dataset == "JapaneseVowels":
        return 0.99
    best = best_deep_anchor(dataset)
    return round(best[1] - 0.02, 3) if best else None


def shipped_datasets() -> list[str]:
    """Every classification set the installed sktime and aeon ship, cheapest (cases x length) first."""

    def cost(name: str) -> int:
        dm = UCRDataModule(name=name, val_fraction=0.0)
        return len(dm.split_indices["train"]) * dm.input_shape[0] * dm.input_shape[1]

    return sorted(available_datasets(), key=cost)


ANCHOR_METHODS = ["FCN", "ResNet", "InceptionTime", "HC2"]


# How padded (unequal-length) series train. Runs before this rule trained with BatchNorm's batch
# statistics over the padding, every batch padded to the set's longest series; on equal-length sets
# nothing is padded and both rules give the same numbers to the bit, so only the runs of
# unequal-length sets (JapaneseVowels, PLAID) made before it are of other settings.
PADDING = "valid steps only: BatchNorm statistics over valid steps, batches cut to their longest series"
PADDING_BEFORE = "BatchNorm statistics over padding, batches padded to the set's longest series"


def _settings(args: argparse.Namespace) -> dict:
    """What makes two runs of the same (dataset, model, seed) comparable."""
    # (not "epochs": each run records the epochs it trained under that name)
    return {
        "recipe": RECIPES[args.recipe],
        "max_epochs_override": args.epochs,
        "max_steps_override": args.steps,
        "extra": list(args.extra),
        "padding": PADDING,
    }


SETTING_KEYS = ("recipe", "max_epochs_override", "max_steps_override", "extra", "padding")
# The settings of runs of the presets as they ship: no override, no extra argument.
SHIPPED: dict[str, Any] = {
    "recipe": RECIPE,
    "max_epochs_override": None,
    "max_steps_override": None,
    "extra": [],
    "padding": PADDING,
}


@functools.cache
def is_variable_length(dataset: str) -> bool:
    """Whether ``dataset``'s series differ in length (then padding enters training)."""
    return UCRDataModule(name=dataset, val_fraction=0.0).is_variable_length


def _normalise(row: dict) -> dict:
    """A run as this version writes it; the first runs of the archive recipe named the steps
    override ``steps`` and had no epochs override; runs before the padding rule have no
    ``padding`` (see ``PADDING``)."""
    row = dict(row)
    if "max_steps_override" not in row:
        row["max_steps_override"] = row.pop("steps", None)
    row.setdefault("max_epochs_override", None)
    row.setdefault("extra", [])
    if "padding" not in row:
        row["padding"] = PADDING_BEFORE if is_variable_length(row["dataset"]) else PADDING
    return row


@functools.cache
def is_univariate(dataset: str) -> bool:
    """Whether ``dataset`` has one channel (then recipes v2 and v3 train it alike)."""
    return UCRDataModule(name=dataset, val_fraction=0.0).input_shape[1] == 1


def same_recipe(row: dict, recipe: str) -> bool:
    """``row`` was run under ``recipe``, or under the one other recipe that trains its set alike:
    v2 and v3 differ only on multivariate sets (v3's ``normalize: auto`` is v2's ``series`` for one
    channel), so a v2 run of a univariate set is a v3 run and the other way round."""
    if row.get("recipe") == recipe:
        return True
    return {row.get("recipe"), recipe} == {RECIPE, RECIPE_V2} and is_univariate(row["dataset"])


def same_settings(row: dict, settings: dict) -> bool:
    return same_recipe(row, settings["recipe"]) and all(
        row.get(k) == settings[k] for k in SETTING_KEYS if k != "recipe"
    )


def load_runs(path: Path) -> list[dict]:
    """Every run in a results JSON (none if the file does not exist), whatever its settings."""
    if not path.is_file():
        return []
    try:
        runs = json.loads(path.read_text())["runs"]
    except (ValueError, KeyError, TypeError) as err:
        raise SystemExit(
            f"{path}: not a results JSON of this benchmark ({err}); move it away or pass --fresh"
        ) from None
    return [_normalise(r) for r in runs]


def merge(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` with ``new`` added; a new run replaces an old one of the same dataset, model, seed
    and settings, every other old run is kept."""

    def key(r: dict) -> tuple:
        return (r["dataset"], r["model"], r["seed"], json.dumps([r.get(k) for k in SETTING_KEYS]))

    merged = {key(r): r for r in old}
    merged.update((key(r), r) for r in new)
    return list(merged.values())


def _run_one(dataset: str, model: str, seed: int, args: argparse.Namespace) -> dict | None:
    extra = [f"--data.name={dataset}", f"--seed_everything={seed}", f"--data.seed={seed}"]
    if args.epochs is not None:
        extra.append(f"--trainer.max_epochs={args.epochs}")
    if args.steps is not None:
        extra.append(f"--trainer.max_steps={args.steps}")
    extra += args.extra
    started, cpu_started = time.perf_counter(), time.process_time()
    unused = args.out / "unused"  # fit_and_test substitutes it for {videos}: these presets have none
    summary = fit_and_test(
        f"ucr-{model}",
        extra,
        root=args.out / f"{dataset}-{model}-seed{seed}",
        videos=unused,
        test_videos=unused,
        quiet=True,
    )
    if summary is None:
        return None
    if "fit_metrics" not in summary:  # an interrupted fit writes no fit summary: its test is no result
        print(f"{dataset} {model} seed {seed}: the fit did not finish (interrupted?); no run recorded")
        return None
    test = summary["test_metrics"]
    best = Path(summary.get("best_checkpoint") or "").stem  # "epoch042"
    return {
        "dataset": dataset,
        "model": model,
        "seed": seed,
        "test_acc": test["test/acc"],
        "test_f1_macro": test["test/f1_macro"],
        "test_f1_weighted": test["test/f1_weighted"],
        "train_acc": summary["fit_metrics"].get("train/acc"),
        "best_monitor": summary.get("best_monitor"),
        "best_epoch": int(best[5:]) if best.startswith("epoch") and best[5:].isdigit() else None,
        "epochs": summary["epochs"],
        "parameters": summary["parameters"],
        "fit_s": summary["fit_wall_time_s"],
        "total_s": round(time.perf_counter() - started, 1),
        # CPU seconds of this process (fit and test): on a shared machine, steadier than wall time
        "cpu_s": round(time.process_time() - cpu_started, 1),
        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "precision": summary.get("precision"),  # what the preset's `auto` resolved to here
        **_settings(args),
    }


def _cell(values: list[float]) -> str:
    if not values:
        return "not run"
    if len(values) == 1:
        return f"{values[0]:.3f} (1)"  # one seed: no spread to show
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} ({len(values)})"


def _anchor_cell(anchor: tuple[float, str] | None) -> str:
    return "n/a" if anchor is None else f"{anchor[0]:.3f}"


def _ordered(runs: list[dict], key: str, order: list[str]) -> list[str]:
    """The values of ``key`` in ``runs``, in the order of ``order`` first, then alphabetically."""
    present = {r[key] for r in runs}
    return [v for v in order if v in present] + sorted(present - set(order))


def _runs_by_pair(
    runs: list[dict], datasets: list[str], models: list[str]
) -> Iterator[tuple[str, str, list[dict]]]:
    """``(dataset, model, its runs sorted by seed)`` for every pair with at least one run, in order."""
    for dataset in datasets:
        for model in models:
            mine = sorted(
                (r for r in runs if r["dataset"] == dataset and r["model"] == model), key=lambda r: r["seed"]
            )
            if mine:
                yield dataset, model, mine


def summarise(runs: list[dict], datasets: list[str], models: list[str]) -> list[dict]:
    rows = []
    for dataset, model, mine in _runs_by_pair(runs, datasets, models):
        accs = [r["test_acc"] for r in mine]
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "seeds": [r["seed"] for r in mine],
                "test_acc_mean": statistics.mean(accs),
                "test_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "test_acc_per_seed": accs,
                "fit_s_mean": statistics.mean(r["fit_s"] for r in mine),
                "epochs": mine[0]["epochs"],
                "parameters": mine[0]["parameters"],
                "target": target(dataset),
            }
        )
    return rows


def tables(
    runs: list[dict],
    datasets: list[str],
    models: list[str],
    seeds_wanted: int = 5,
    baselines: dict[str, dict] | None = None,
) -> str:
    """Markdown: accuracy per (dataset, model) with the anchors and the target; mean fit seconds.

    A cell is the mean ± std over the seeds run, with their number in brackets; "not run" where
    there is no run. The verdict says when a mean rests on fewer than ``seeds_wanted`` seeds.
    With ``baselines`` (``ucr_baselines.load_baselines()``), two columns follow the models: 1-NN
    Euclidean and the majority class, measured by ``benchmarks/ucr_baselines.py`` ("—" where a
    set has none).
    """
    acc: dict[tuple[str, str], list[float]] = {}
    fit: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        acc.setdefault((r["dataset"], r["model"]), []).append(r["test_acc"])
        fit.setdefault((r["dataset"], r["model"]), []).append(r["fit_s"])
    base_names = {"1nn_ed": "1-NN ED (ours)", "majority": "majority (ours)"} if baselines is not None else {}
    header = ["dataset", *models, *base_names.values(), *ANCHOR_METHODS, "target", "met by"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for dataset in datasets:
        goal = target(dataset)
        means = {m: statistics.mean(acc[dataset, m]) for m in models if acc.get((dataset, m))}
        cells = [_cell(acc.get((dataset, m), [])) for m in models]
        anchors = [_anchor_cell(ANCHORS.get(dataset, {}).get(a)) for a in ANCHOR_METHODS]
        base = (baselines or {}).get(dataset, {})
        cells += [f"{base[k]:.3f}" if k in base else "—" for k in base_names]
        target_text = "n/a" if goal is None else f">= {goal:.3f}"
        best = max(means, key=means.__getitem__) if means else None
        met = [m for m, mean in means.items() if goal is not None and mean >= goal - 1e-9]
        if goal is None:
            verdict = "no anchor"
        elif not means:
            verdict = "not run"
        else:
            n = {m: len(acc[dataset, m]) for m in means}
            few = {m: "" if n[m] >= seeds_wanted else f" ({n[m]} of {seeds_wanted} seeds)" for m in means}
            verdict = ", ".join(m + few[m] for m in met)
            if not met and best is not None:
                verdict = f"none (best: {best} {means[best]:.4f}{few[best]})"
        lines.append("| " + " | ".join([dataset, *cells, *anchors, target_text, verdict]) + " |")
    lines += ["", "Mean fit time per run, wall seconds (training, 1 thread):", ""]
    header = ["dataset", *models]
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for dataset in datasets:
        cells = [f"{statistics.mean(fit[dataset, m]):.1f}" if fit.get((dataset, m)) else "—" for m in models]
        lines.append("| " + " | ".join([dataset, *cells]) + " |")
    return "\n".join(lines)


def per_seed_table(runs: list[dict], datasets: list[str], models: list[str]) -> str:
    """Markdown: every run of each (dataset, model), by seed: test accuracy, best epoch, fit time."""
    header = ["dataset", "model", "seeds", "test acc per seed", "best epoch (of)", "fit s per run"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for dataset, model, mine in _runs_by_pair(runs, datasets, models):
        cells = [
            ", ".join(str(r["seed"]) for r in mine),
            ", ".join(f"{r['test_acc']:.3f}" for r in mine),
            ", ".join(f"{r['best_epoch']} ({r['epochs']})" for r in mine),
            ", ".join(f"{r['fit_s']:.0f}" for r in mine),
        ]
        lines.append("| " + " | ".join([dataset, model, *cells]) + " |")
    return "\n".join(lines)


# -- seed ensembles (docs/results.md, protocol item 8) ------------------------------------------
# The soft vote of the five runs' selected checkpoints: the mean of their class probabilities on
# the archive's test split, the argmax of the mean (the lowest class index on a tie). Each run's
# probabilities come from `cnnlstm predict --ckpt_path best` in its own folder, as a user gets
# them (UCRDataModule predicts on the test split when no predict_path is given); a run's argmax
# accuracy there must equal the test accuracy its `test` recorded, or no ensemble is recorded.
ENSEMBLE_SEEDS = (0, 1, 2, 3, 4)
# A run's test_acc is the summary's test/acc, rounded to 6 decimals (at most 5e-7 from the ratio).
ACC_TOLERANCE = 1e-6


class EnsembleRefused(ValueError):
    """The runs of a (dataset, model) give no ensemble to record; the message says why."""


@dataclass(frozen=True)
class Predictions:
    """One run's ``predictions.csv``: the class columns, ``(N, K)`` probabilities, argmax and targets."""

    classes: tuple[str, ...]
    probs: np.ndarray  # (N, K) float64
    pred: np.ndarray  # (N,) int64: the argmax the run computed on its unrounded probabilities
    target: np.ndarray  # (N,) int64


def read_predictions(path: Path) -> Predictions:
    """Read a ``predictions.csv`` of ``cnnlstm predict`` (PredictionWriter) that has a ``target`` column."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    columns = list(rows[0]) if rows else []
    classes = tuple(c[2:] for c in columns if c.startswith("p_"))
    if not rows or "target" not in columns or "pred" not in columns or not classes:
        raise EnsembleRefused(f"{path}: no rows with pred, target and p_<class> columns")
    probs = np.array([[float(r[f"p_{c}"]) for c in classes] for r in rows])
    pred = np.array([int(r["pred"]) for r in rows])
    target = np.array([int(r["target"]) for r in rows])
    if (target < 0).any():
        raise EnsembleRefused(f"{path}: {int((target < 0).sum())} rows without a target")
    # pred is the argmax before rounding: it must hold the largest rounded probability of its row
    if (probs[np.arange(len(pred)), pred] < probs.max(1) - ACC_TOLERANCE).any():
        raise EnsembleRefused(f"{path}: pred is not the argmax of the p_<class> columns")
    return Predictions(classes, probs, pred, target)


def soft_vote(probs: list[np.ndarray]) -> np.ndarray:
    """The class of each sample by the soft vote of the runs: argmax of the mean of their ``(N, K)``
    probabilities.

        >>> soft_vote([np.array([[0.4, 0.6]])] * 3 + [np.array([[1.0, 0.0]])] * 2)
        array([0])
    """
    return np.mean(np.stack(probs), axis=0).argmax(-1)


def ensemble(runs: list[dict], predictions: list[Predictions]) -> dict:
    """The soft-vote ensemble of ``runs`` (rows of one dataset and model) from their predictions.

    Refuses (:class:`EnsembleRefused`) predictions whose classes or targets differ between runs
    (another test order) and a run whose argmax accuracy differs from its recorded ``test_acc``.
    """
    first = predictions[0]
    problems = []
    for run, p in zip(runs, predictions, strict=True):
        if p.classes != first.classes or not np.array_equal(p.target, first.target):
            raise EnsembleRefused(
                f"seed {run['seed']}'s predictions have other classes or targets than seed "
                f"{runs[0]['seed']}'s (not the same test split in the same order)"
            )
        acc = float((p.pred == p.target).mean())
        if abs(acc - run["test_acc"]) > ACC_TOLERANCE:
            problems.append(f"seed {run['seed']}: predict {acc:.6f}, test_acc {run['test_acc']:.6f}")
    if problems:
        raise EnsembleRefused(
            "argmax accuracy of predict differs from the recorded test: " + "; ".join(problems)
        )
    vote = soft_vote([p.probs for p in predictions])
    return {
        "dataset": runs[0]["dataset"],
        "model": runs[0]["model"],
        "seeds": [r["seed"] for r in runs],
        "acc": float((vote == first.target).mean()),
        "single_accs": [r["test_acc"] for r in runs],
        # the member runs, to tell when one was replaced by a rerun after the ensemble was made
        "runs_finished_at": [r.get("finished_at") for r in runs],
        "test_cases": len(first.target),
        "vote": "soft: argmax of the mean class probability of the selected checkpoints",
        **{k: runs[0][k] for k in SETTING_KEYS},
    }


def ensemble_groups(
    runs: list[dict], settings: dict, datasets: list[str], models: list[str]
) -> tuple[list[list[dict]], list[str]]:
    """The (dataset, model) pairs whose runs of ``settings`` include every seed of
    ``ENSEMBLE_SEEDS`` (their runs, by seed), and one line for each pair left out and why."""
    mine = [r for r in runs if same_settings(r, settings)]
    groups, skipped = [], []
    for dataset, model, pair in _runs_by_pair(mine, datasets, models):
        by_seed = {r["seed"]: r for r in pair}
        missing = [s for s in ENSEMBLE_SEEDS if s not in by_seed]
        if missing:
            skipped.append(f"{dataset} {model}: seeds {missing} not run; no ensemble")
        else:
            groups.append([by_seed[s] for s in ENSEMBLE_SEEDS])
    return groups, skipped


def _run_folder(out: Path, run: dict) -> Path:
    return out / f"{run['dataset']}-{run['model']}-seed{run['seed']}"


def _finished_run_problem(folder: Path) -> str | None:
    """Why ``folder`` is not a finished run to predict with (None when it is one)."""
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        return f"{folder}: no summary.json"
    summary = json.loads(summary_path.read_text())
    if "fit_metrics" not in summary or not summary.get("best_checkpoint"):
        return f"{folder}: the fit did not finish (no fit_metrics or best_checkpoint in summary.json)"
    return None


def predict_run(run: dict, out: Path, extra: list[str]) -> Path:
    """``cnnlstm predict --ckpt_path best`` of a finished run in its own folder, on the archive's
    test split; the ``predictions.csv`` it wrote."""
    from cnnlstm.cli.errors import guarded
    from cnnlstm.cli.lightning_cli import run_lightning

    folder = _run_folder(out, run)
    summary = json.loads((folder / "summary.json").read_text())
    selected = Path(summary["best_checkpoint"]).name
    best = sorted(p.name for p in (folder / "checkpoints").glob("*.ckpt") if not p.name.startswith("last"))
    if best[-1:] != [selected]:  # `best` is the newest non-last checkpoint of the folder
        raise EnsembleRefused(
            f"{folder}: --ckpt_path best would read {best[-1:]}, not the selected {selected}"
        )
    args = [
        "--config",
        f"ucr-{run['model']}",
        f"--data.name={run['dataset']}",
        f"--data.seed={run['seed']}",
        f"--trainer.default_root_dir={folder}",
        "--ckpt_path",
        "best",
        *extra,
    ]
    if guarded(lambda: run_lightning("predict", args, quiet=True)) != 0:
        raise EnsembleRefused(f"{folder}: `cnnlstm predict` failed")
    if not (folder / "predictions.csv").is_file():
        raise EnsembleRefused(f"{folder}: `cnnlstm predict` wrote no predictions.csv")
    return folder / "predictions.csv"


def make_ensembles(
    runs: list[dict], settings: dict, datasets: list[str], models: list[str], out: Path
) -> tuple[list[dict], list[str], list[str]]:
    """The ensembles of every complete five-seed (dataset, model) of ``settings`` whose run folders
    under ``out`` are finished runs; a line for each pair without five seeds; a line for each
    complete pair refused (an unfinished folder, a failed predict, another test order, or a
    predict accuracy that differs from the recorded test)."""
    groups, skipped = ensemble_groups(runs, settings, datasets, models)
    made: list[dict] = []
    notes: list[str] = []
    for group in groups:
        name = f"{group[0]['dataset']} {group[0]['model']}"
        unfinished = [p for r in group if (p := _finished_run_problem(_run_folder(out, r)))]
        if unfinished:
            notes.append(f"{name}: no ensemble; " + "; ".join(unfinished))
            continue
        try:
            row = ensemble(group, [read_predictions(predict_run(r, out, settings["extra"])) for r in group])
        except EnsembleRefused as why:
            notes.append(f"{name}: no ensemble; {why}")
            continue
        made.append(row)
        print(
            f"{name}: ensemble of seeds {row['seeds']} {row['acc']:.4f} "
            f"(singles {', '.join(f'{a:.4f}' for a in row['single_accs'])})",
            flush=True,
        )
    return made, skipped, notes


def merge_ensembles(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` with ``new`` added; a new ensemble replaces one of the same dataset, model, seeds and settings."""

    def key(e: dict) -> tuple:
        return (e["dataset"], e["model"], tuple(e["seeds"]), json.dumps([e.get(k) for k in SETTING_KEYS]))

    merged = {key(e): e for e in old}
    merged.update((key(e), e) for e in new)
    return list(merged.values())


def load_ensembles(path: Path) -> list[dict]:
    """The ensembles of a results JSON (none if the file or the key is missing)."""
    if not path.is_file():
        return []
    return list(json.loads(path.read_text()).get("ensembles", []))


def _is_current(ens: dict, runs: list[dict]) -> bool:
    """Whether the member runs of ``ens`` are still the runs of the JSON (none rerun since)."""
    finished = {
        (r["dataset"], r["model"], r["seed"]): r.get("finished_at") for r in runs if same_settings(r, ens)
    }
    members = zip(ens["seeds"], ens.get("runs_finished_at") or [None] * len(ens["seeds"]), strict=True)
    return all(finished.get((ens["dataset"], ens["model"], s), "absent") == f for s, f in members)


def ensemble_table(ensembles: list[dict], runs: list[dict]) -> str:
    """Markdown: each seed ensemble beside the mean of its single runs, the best deep anchor and the
    target. The target is judged on the single models' mean (``tables``); this row is the ensemble's own."""
    header = ["dataset", "model", "seeds", "mean of singles", "ensemble (soft vote)", "best deep anchor"]
    header += ["target", "ensemble reaches target"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for e in ensembles:
        anchor, goal = best_deep_anchor(e["dataset"]), target(e["dataset"])
        if not _is_current(e, runs):
            reaches = "stale: a member run was rerun; run --ensembles again"
        elif goal is None:
            reaches = "no anchor"
        else:
            reaches = "yes" if e["acc"] >= goal - 1e-9 else "no"
        cells = [
            e["dataset"],
            e["model"],
            ", ".join(str(s) for s in e["seeds"]),
            f"{statistics.mean(e['single_accs']):.3f}",
            f"{e['acc']:.3f}",
            "n/a" if anchor is None else f"{anchor[1]:.3f} ({anchor[0]})",
            "n/a" if goal is None else f">= {goal:.3f}",
            reaches,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shipped = available_datasets()
    parser.add_argument(
        "--datasets", nargs="*", default=None, choices=shipped, help="default: all, cheapest first"
    )
    parser.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=None, help="override every preset's max_epochs")
    parser.add_argument("--steps", type=int, default=None, help="override every preset's max_steps")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_ucr"), help="folder for the run folders")
    parser.add_argument("--json", type=Path, default=Path("docs/results/ucr_archive.json"))
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--resume",
        action="store_true",
        help="the default, kept for earlier commands: every run already in --json is kept, and a "
        "(dataset, model, seed) it holds with the same settings is not run again",
    )
    store.add_argument(
        "--fresh",
        action="store_true",
        help="start --json anew: drop the runs it holds (the default keeps them)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="run nothing: print the tables of every run in --json with these settings",
    )
    parser.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        default="v3",
        help="with --report: the tables of the runs of this recipe (v1, v2: the presets before "
        "v3; v2's runs of univariate sets are v3's too); runs always use the presets as they ship (v3)",
    )
    parser.add_argument(
        "--merge-from",
        nargs="+",
        type=Path,
        default=[],
        metavar="JSON",
        help="run nothing: add the runs, ensembles and invocations of these results JSONs (written "
        "by invocations run in parallel, each with its own --json) to --json",
    )
    parser.add_argument(
        "--ensembles",
        action="store_true",
        help="train nothing: for every (dataset, model) with runs of these settings for seeds 0-4 in "
        "--json and finished run folders under --out, `cnnlstm predict` each run's selected "
        "checkpoint on the test split and record the soft vote of the five in --json",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="PNG",
        help="with --report: also draw the table as a figure (benchmarks/ucr_figure.py) to this file",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="ARG",
        help="one more CLI argument for every run (repeatable), e.g. --extra=--data.batch_size=8",
    )
    args = parser.parse_args(argv)
    if args.ensembles and args.report:
        parser.error("--ensembles makes the ensembles; --report prints them: give one")
    if args.plot is not None and not args.report:
        parser.error("--plot draws the report's figure: give it with --report")
    if args.recipe != "v3" and not args.report:
        parser.error(f"--recipe {args.recipe} only reports: the presets as they ship are v3")
    torch.set_num_threads(args.threads)
    settings = _settings(args)
    runs = [] if args.fresh else load_runs(args.json)
    earlier = [] if args.fresh or not runs else json.loads(args.json.read_text()).get("invocations", [])
    ensembles = [] if args.fresh else load_ensembles(args.json)
    if args.merge_from:
        for other in args.merge_from:
            added = load_runs(other)
            runs = merge(runs, added)
            added_ensembles = load_ensembles(other)
            ensembles = merge_ensembles(ensembles, added_ensembles)
            # a file started as a copy of --json repeats its invocations: each is kept once
            earlier += [i for i in json.loads(other.read_text()).get("invocations", []) if i not in earlier]
            print(f"{other}: {len(added)} runs and {len(added_ensembles)} ensembles merged into {args.json}")
        write(args.json, runs, earlier, ensembles)
        return 0
    if args.report:
        mine = [r for r in runs if same_settings(r, settings)]
        datasets = args.datasets or _ordered(mine, "dataset", DATASET_ORDER)
        models = _ordered(mine, "model", MODELS) if args.models == MODELS else args.models
        mine = [r for r in mine if r["dataset"] in datasets and r["model"] in models]
        print(f"{len(mine)} runs in {args.json} with these settings\n")
        baselines = load_baselines()
        print(
            tables(mine, datasets, models, baselines=baselines)
            + "\n\n"
            + per_seed_table(mine, datasets, models)
        )
        if args.plot is not None:
            anchors = {d: best_deep_anchor(d) for d in datasets}
            drawn = plot_accuracies(
                mine, datasets, models, anchors, {d: target(d) for d in datasets}, baselines, args.plot
            )
            print(f"\nfigure: {drawn}")
        shown = [
            e
            for e in ensembles
            if same_settings(e, settings) and e["dataset"] in datasets and e["model"] in models
        ]
        if shown:
            print("\nSeed ensembles (soft vote of the five selected checkpoints; a row of its own):\n")
            print(ensemble_table(shown, runs))
        return 0
    if args.ensembles:
        return _record_ensembles(
            args, list(sys.argv[1:] if argv is None else argv), runs, earlier, ensembles, settings
        )

    args.datasets = args.datasets or shipped_datasets()
    done = {(r["dataset"], r["model"], r["seed"]) for r in runs if same_settings(r, settings)}
    started = time.perf_counter()
    invocation: dict[str, Any] = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv[1:] if argv is None else argv),
        "runs_added": 0,
        "wall_s": 0.0,
    }
    todo = [
        (d, m, s) for d in args.datasets for m in args.models for s in args.seeds if (d, m, s) not in done
    ]
    print(
        f"cnnlstm UCR benchmark | torch {torch.__version__} | {torch.get_num_threads()} thread(s) | "
        f"{len(todo)} runs to do, {len(runs)} kept in {args.json}",
        flush=True,
    )
    for i, (dataset, model, seed) in enumerate(todo, 1):
        row = _run_one(dataset, model, seed, args)
        if row is None:
            return 1
        runs = merge(runs, [row])
        invocation["runs_added"] += 1
        print(
            f"[{i}/{len(todo)}] {dataset} {model} seed {seed}: test acc {row['test_acc']:.3f} "
            f"(fit {row['fit_s']:.0f} s, total {row['total_s']:.0f} s)",
            flush=True,
        )
        invocation["wall_s"] = round(time.perf_counter() - started, 1)
        write(args.json, runs, [*earlier, invocation], ensembles)  # progress survives an interruption

    selected = [
        r
        for r in runs
        if same_settings(r, settings)
        and r["dataset"] in args.datasets
        and r["model"] in args.models
        and r["seed"] in args.seeds
    ]
    print("\n" + tables(selected, args.datasets, args.models, baselines=load_baselines()))
    invocation["wall_s"] = round(time.perf_counter() - started, 1)
    write(args.json, runs, [*earlier, invocation], ensembles)
    print(f"\nwrote {args.json}")
    return 0


def _record_ensembles(
    args: argparse.Namespace,
    argv: list[str],
    runs: list[dict],
    earlier: list[dict],
    ensembles: list[dict],
    settings: dict,
) -> int:
    """``--ensembles``: predict with the runs of every complete five-seed pair, record their soft
    votes; exit 1 when a complete pair was refused or none was made."""
    datasets = args.datasets or _ordered(runs, "dataset", DATASET_ORDER)
    cpu_started, started = time.process_time(), time.perf_counter()
    invocation = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": argv,
        "runs_added": 0,
    }
    made, skipped, refused = make_ensembles(runs, settings, datasets, args.models, args.out)
    for note in [*skipped, *refused]:
        print(note)
    invocation |= {
        "ensembles_added": len(made),
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(time.process_time() - cpu_started, 1),
    }
    if made:
        ensembles = merge_ensembles(ensembles, made)
        write(args.json, runs, [*earlier, invocation], ensembles)
        print("\n" + ensemble_table(made, runs) + f"\n\nwrote {len(made)} ensembles to {args.json}")
    print(
        f"ensembles: {len(made)} made, {len(refused)} refused, {len(skipped)} pairs without five seeds; "
        f"{invocation['cpu_s']} CPU s"
    )
    return 0 if made and not refused else 1


def write(path: Path, runs: list[dict], invocations: list[dict], ensembles: list[dict] | None = None) -> None:
    """Write every run (of any settings) with a summary of the runs of the presets as they ship,
    and the seed ensembles (``--ensembles``) made of them."""
    shipped = [r for r in runs if same_settings(r, SHIPPED)]
    datasets = _ordered(runs, "dataset", DATASET_ORDER)
    models = _ordered(runs, "model", MODELS)
    atomic_write_json(
        path,
        {
            "recipe": RECIPE,
            "datasets": datasets,
            "models": models,
            "seeds": sorted({r["seed"] for r in runs}),
            "invocations": invocations,
            "targets": {d: target(d) for d in datasets},
            "anchors": {
                d: {m: (None if a is None else {"acc": a[0], "source": a[1]}) for m, a in v.items()}
                for d, v in ANCHORS.items()
            },
            "sources": SOURCES,
            "summary_of_the_shipped_presets": summarise(shipped, datasets, models),
            "ensembles": sorted(
                ensembles or [],
                key=lambda e: (
                    datasets.index(e["dataset"]) if e["dataset"] in datasets else len(datasets),
                    e["dataset"],
                    e["model"],
                    json.dumps([e.get(k) for k in SETTING_KEYS]),
                ),
            ),
            "runs": sorted(
                runs,
                key=lambda r: (
                    datasets.index(r["dataset"]),
                    models.index(r["model"]),
                    r["seed"],
                    json.dumps([r.get(k) for k in SETTING_KEYS]),
                ),
            ),
        },
    )


if __name__ == "__main__":
    raise SystemExit(main())
