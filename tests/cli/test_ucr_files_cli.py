"""`cnnlstm fit/test` on a .ts file pair a test writes itself: the generic preset, a tiny model, 1 epoch."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sktime")

from cnnlstm.cli import main  # noqa: E402
from tests.data._archive_files import write_pair  # noqa: E402

TINY = ["--model.init_args.name=lstm_fcn_tiny", "--model.init_args.model_kwargs={}", "--quiet"]


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


def test_a_missing_test_file_is_one_line_naming_it(tmp_path, capsys):
    train, test = write_pair(tmp_path)
    test.unlink()
    code = main(["fit", "--config", "ucr-lstm_fcn", f"--data.path={train}", *TINY])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--data.path" in err and "Toy_TEST.ts" in err and "--data.test_path" in err
