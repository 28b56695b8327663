"""`cnnlstm fit/test` on a .ts file pair a test writes itself: the generic preset, a tiny model, 1 epoch."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("sktime")

from cnnlstm.cli import main  # noqa: E402
from tests.data._archive_files import toy_cases, write_pair, write_ts  # noqa: E402

TINY = ["--model.init_args.name=lstm_fcn_tiny", "--model.init_args.model_kwargs={}", "--quiet"]


def _predictions(run) -> list[dict[str, str]]:
    with open(run / "predictions.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_ts_pair_trains_and_tests_through_the_cli(tmp_path):
    train, _ = write_pair(tmp_path / "data", name="Ramps", channels=2, ragged=True)
    common = ["--config", "ucr-lstm_fcn", f"--trainer.default_root_dir={tmp_path / 'run'}", *TINY]
    common += [f"--data.path={train}", "--trainer.max_epochs=1", "--data.batch_size=4"]
    assert main(["fit", *common]) == 0
    assert main(["test", "--ckpt_path", "last", *common]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert sum(map(sum, summary["test_confusion_matrix"])) == 12  # every case of Ramps_TEST.ts
    data = summary["data"]
    assert data["dataset"] == "Ramps" and data["classes"] == ["down", "up"] and data["channels"] == 2

    # New cases in the archive's own format, unlabelled (@classLabel false) and of unequal lengths:
    # classified with the checkpoint's statistics, the same once the archive files are gone.
    cases, _ = toy_cases(n=5, channels=2, seed=7, ragged=True)
    header = "@problemName New\n@timeStamps false\n@univariate false\n@dimensions 2\n"
    header += "@equalLength false\n@classLabel false\n@data\n"
    new = tmp_path / "new.ts"
    new.write_text(
        header
        + "\n".join(":".join(",".join(f"{v:.5f}" for v in c[:, k]) for k in range(2)) for c in cases)
        + "\n"
    )
    labelled = write_ts(tmp_path / "labelled.ts", cases, ["up"] * 5)  # the same cases, labels not read
    predict = ["predict", "--config", str(tmp_path / "run" / "config.yaml"), "--ckpt_path", "last", "--quiet"]
    rows = {}
    for name, file in (("unlabelled", new), ("labelled", labelled)):
        assert main([*predict, f"--data.predict_path={file}"]) == 0
        rows[name] = _predictions(tmp_path / "run")
    shutil.rmtree(tmp_path / "data")
    assert main([*predict, f"--data.predict_path={new}"]) == 0
    rows["without the archive"] = _predictions(tmp_path / "run")
    assert (
        len(rows["unlabelled"]) == 5 and rows["unlabelled"] == rows["labelled"] == rows["without the archive"]
    )
    probabilities = np.array([[float(r["p_down"]), float(r["p_up"])] for r in rows["unlabelled"]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_a_missing_test_file_is_one_line_naming_it(tmp_path, capsys):
    train, test = write_pair(tmp_path)
    test.unlink()
    code = main(["fit", "--config", "ucr-lstm_fcn", f"--data.path={train}", *TINY])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--data.path" in err and "Toy_TEST.ts" in err and "--data.test_path" in err
