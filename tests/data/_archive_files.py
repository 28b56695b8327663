"""Small UCR/UEA archive files written by the tests themselves (.ts, .arff, .tsv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def toy_cases(n: int = 12, length: int = 16, channels: int = 1, *, seed: int = 0, ragged: bool = False):
    """``n`` cases ``(T_i, C)`` of two classes (a rising or a falling ramp plus noise) and their labels."""
    rng = np.random.default_rng(seed)
    cases, labels = [], []
    for i in range(n):
        label = "up" if i % 2 == 0 else "down"
        t = length - (i % 3) if ragged else length
        ramp = np.linspace(-1, 1, t) * (1 if label == "up" else -1)
        cases.append(ramp[:, None] + 0.1 * rng.standard_normal((t, channels)))
        labels.append(label)
    return cases, labels


def write_ts(path: Path, cases, labels, *, header: str | None = None) -> Path:
    """A ``.ts`` file of ``cases`` (each ``(T_i, C)``) with string ``labels``."""
    channels = cases[0].shape[1]
    equal = len({len(c) for c in cases}) == 1
    head = header or (
        f"@problemName {path.stem}\n@timeStamps false\n@missing false\n"
        f"@univariate {'true' if channels == 1 else 'false'}\n"
        + (f"@dimensions {channels}\n" if channels > 1 else "")
        + f"@equalLength {'true' if equal else 'false'}\n"
        f"@classLabel true {' '.join(sorted(set(labels)))}\n@data\n"
    )
    lines = [
        ":".join(",".join(f"{v:.5f}" for v in case[:, c]) for c in range(channels)) + f":{label}"
        for case, label in zip(cases, labels, strict=True)
    ]
    path.write_text(head + "\n".join(lines) + "\n")
    return path


def write_pair(folder: Path, name: str = "Toy", suffix: str = ".ts", **kwargs) -> tuple[Path, Path]:
    """``folder/NAME_TRAIN.ts`` and ``folder/NAME_TEST.ts`` (or ``.tsv``/``.arff``, univariate)."""
    folder.mkdir(parents=True, exist_ok=True)
    writer = {".ts": write_ts, ".tsv": write_tsv, ".arff": write_arff}[suffix]
    files = []
    for split, seed in (("TRAIN", 0), ("TEST", 1)):
        cases, labels = toy_cases(seed=seed, **kwargs)
        files.append(writer(folder / f"{name}_{split}{suffix}", cases, labels))
    return files[0], files[1]


def write_tsv(path: Path, cases, labels) -> Path:
    """The 2018 UCR form: label first, then the values, tab-separated; NaN pads shorter series."""
    length = max(len(c) for c in cases)
    rows = []
    for case, label in zip(cases, labels, strict=True):
        values = [f"{v:.5f}" for v in case[:, 0]] + ["NaN"] * (length - len(case))
        rows.append("\t".join([label, *values]))
    path.write_text("\n".join(rows) + "\n")
    return path


def write_arff(path: Path, cases, labels) -> Path:
    """Weka's form of a univariate, equal-length set."""
    length = len(cases[0])
    head = [f"@relation {path.stem}"] + [f"@attribute t{i} numeric" for i in range(length)]
    head += [f"@attribute target {{{','.join(sorted(set(labels)))}}}", "@data"]
    rows = [
        ",".join(f"{v:.5f}" for v in case[:, 0]) + f",{label}"
        for case, label in zip(cases, labels, strict=True)
    ]
    path.write_text("\n".join(head + rows) + "\n")
    return path
