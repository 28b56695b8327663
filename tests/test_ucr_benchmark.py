"""benchmarks/ucr.py without training: the targets, the shipped sets and the table from given runs."""

from __future__ import annotations

import json

import pytest

from tests._benchmarks import benchmark_fixture

pytest.importorskip("sktime")


bench = benchmark_fixture("ucr")


def test_targets_follow_the_best_deep_anchor(bench):
    assert bench.target("ArrowHead") == round(0.845 - 0.02, 3)  # ResNet, the best deep anchor there
    assert bench.target("JapaneseVowels") == 0.99
    assert bench.target("UnitTest") is None  # nothing published for sktime's test subset


@pytest.mark.slow  # reads every shipped set (PLAID and ACSF1 take seconds)
def test_every_shipped_set_is_covered_with_anchor_entries(bench):
    from cnnlstm.data.timeseries import available_datasets

    shipped = bench.shipped_datasets()
    assert sorted(shipped) == sorted(available_datasets()) and shipped[0] == "UnitTest"  # cheapest first
    assert set(shipped) <= set(bench.ANCHORS)
    for anchors in bench.ANCHORS.values():
        for anchor in anchors.values():
            assert anchor is None or anchor[1] in bench.SOURCES


def test_table_gives_mean_std_and_verdict_from_the_runs(bench):
    runs = [
        {"dataset": "GunPoint", "model": "lstm_fcn", "seed": s, "test_acc": acc, "fit_s": 10.0}
        for s, acc in enumerate([0.99, 0.97])
    ]
    table = bench.tables(runs, ["GunPoint"], ["lstm_fcn"])
    row = "| GunPoint | 0.980 ± 0.014 (2) | 1.000 | 0.991 | 1.000 | 1.000 | >= 0.980 | lstm_fcn (2 of 5 seeds) |"
    assert row in table
    assert "| GunPoint | 0.980 ± 0.014 (2) | not run |" in bench.tables(
        runs, ["GunPoint"], ["lstm_fcn", "cnn_bilstm"]
    )
    runs[1]["test_acc"] = 0.95
    assert "none (best: lstm_fcn 0.9700 (2 of 5 seeds))" in bench.tables(runs, ["GunPoint"], ["lstm_fcn"])
    assert "| ACSF1 | not run |" in bench.tables(runs, ["ACSF1"], ["lstm_fcn"])
    assert "| GunPoint | 0.990 (1) |" in bench.tables(runs[:1], ["GunPoint"], ["lstm_fcn"])


def _fake_run(bench, calls):
    """Stands in for a training run: records (dataset, model, seed) and returns a row."""

    def run(dataset, model, seed, args):
        calls.append((dataset, model, seed))
        return {
            "dataset": dataset,
            "model": model,
            "seed": seed,
            "test_acc": 0.5 + seed / 10,
            "fit_s": 1.0,
            "total_s": 1.5,
            "epochs": 3,
            "best_epoch": 2,
            "parameters": 10,
            **bench._settings(args),
        }

    return run


def _rows(path):
    return json.loads(path.read_text())["runs"]


def test_runs_merge_into_the_json_and_are_not_run_twice(bench, tmp_path, monkeypatch, capsys):
    out = tmp_path / "ucr.json"
    # A run written by the first version (its steps override named "steps"), and one of other settings.
    first = {"dataset": "GunPoint", "model": "lstm_fcn", "seed": 0, "test_acc": 0.9, "fit_s": 5.0}
    first |= {
        "epochs": 3,
        "best_epoch": 1,
        "parameters": 10,
        "recipe": bench.RECIPE,
        "steps": None,
        "extra": [],
    }
    other = {**first, "seed": 1, "test_acc": 0.1, "steps": 10}
    out.write_text(json.dumps({"runs": [first, other]}))
    calls: list = []
    monkeypatch.setattr(bench, "_run_one", _fake_run(bench, calls))
    common = ["--json", str(out), "--datasets", "GunPoint", "--models", "lstm_fcn"]

    assert bench.main([*common, "--seeds", "0", "1"]) == 0
    assert calls == [("GunPoint", "lstm_fcn", 1)]  # seed 0 is in the file with these settings
    rows = _rows(out)
    assert len(rows) == 3 and {r["max_steps_override"] for r in rows} == {None, 10}  # nothing dropped
    assert bench.main([*common, "--seeds", "1", "2"]) == 0  # a second invocation adds seed 2 only
    assert calls[1:] == [("GunPoint", "lstm_fcn", 2)]
    stored = json.loads(out.read_text())
    assert len(stored["runs"]) == 4 and [i["runs_added"] for i in stored["invocations"]] == [1, 1]
    summary = stored["summary_of_the_shipped_presets"]
    assert summary[0]["seeds"] == [0, 1, 2]  # the run of other settings is not in it

    capsys.readouterr()
    assert bench.main(["--json", str(out), "--report"]) == 0
    report = capsys.readouterr().out
    assert "3 runs in" in report and "| GunPoint | lstm_fcn | 0, 1, 2 | 0.900, 0.600, 0.700 |" in report

    assert bench.main([*common, "--seeds", "4", "--fresh"]) == 0
    assert [(r["seed"], r["test_acc"]) for r in _rows(out)] == [(4, 0.9)]  # --fresh starts anew


def test_runs_of_unequal_length_sets_before_the_padding_rule_are_of_other_settings(
    bench, tmp_path, monkeypatch
):
    # BatchNorm over valid steps and batches cut to their longest series change the training of
    # padded sets only: earlier JapaneseVowels runs are kept but run again, GunPoint's still count.
    out = tmp_path / "ucr.json"
    common = {"model": "lstm_fcn", "seed": 0, "test_acc": 0.9, "fit_s": 5.0, "epochs": 3, "best_epoch": 1}
    common |= {"parameters": 10, "recipe": bench.RECIPE, "max_steps_override": None, "extra": []}
    before = [{**common, "dataset": name} for name in ("GunPoint", "JapaneseVowels")]
    out.write_text(json.dumps({"runs": before}))
    calls: list = []
    monkeypatch.setattr(bench, "_run_one", _fake_run(bench, calls))
    argv = [
        "--json",
        str(out),
        "--datasets",
        "GunPoint",
        "JapaneseVowels",
        "--models",
        "lstm_fcn",
        "--seeds",
        "0",
    ]
    assert bench.main(argv) == 0
    assert calls == [("JapaneseVowels", "lstm_fcn", 0)]
    rows = {(r["dataset"], r["padding"]) for r in _rows(out)}
    assert rows == {
        ("GunPoint", bench.PADDING),
        ("JapaneseVowels", bench.PADDING_BEFORE),
        ("JapaneseVowels", bench.PADDING),
    }


def test_a_file_that_is_not_a_results_json_is_refused_not_overwritten(bench, tmp_path):
    out = tmp_path / "ucr.json"
    out.write_text("[1, 2]")
    with pytest.raises(SystemExit, match="not a results JSON"):
        bench.main(["--json", str(out), "--datasets", "GunPoint", "--models", "lstm_fcn", "--seeds", "0"])
    assert out.read_text() == "[1, 2]"


def test_an_interrupted_fit_records_no_run(bench, tmp_path, monkeypatch):
    """A SIGTERM stops Lightning's fit early; `test` then still scores the last checkpoint."""
    out = tmp_path / "ucr.json"
    monkeypatch.setattr(bench, "fit_and_test", lambda *a, **k: {"test_metrics": {"test/acc": 0.59}})
    code = bench.main(["--json", str(out), "--datasets", "GunPoint", "--models", "lstm_fcn", "--seeds", "0"])
    assert code == 1 and not out.exists()


def test_json_files_of_parallel_invocations_merge_into_one(bench, tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(bench, "_run_one", _fake_run(bench, calls))
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    common = ["--datasets", "GunPoint", "--models", "lstm_fcn"]
    assert bench.main([*common, "--json", str(first), "--seeds", "0", "1"]) == 0
    assert bench.main([*common, "--json", str(second), "--seeds", "1", "2"]) == 0
    made = json.loads(second.read_text())
    ensemble = {"dataset": "GunPoint", "model": "lstm_fcn", "seeds": [0, 1, 2, 3, 4], "accuracy": 1.0}
    made["ensembles"] = [ensemble | {k: bench.SHIPPED[k] for k in bench.SETTING_KEYS}]
    second.write_text(json.dumps(made))
    assert bench.main(["--json", str(first), "--merge-from", str(second)]) == 0
    assert bench.main(["--json", str(first), "--merge-from", str(second)]) == 0  # twice: no change
    assert len(calls) == 4  # merging trains nothing
    stored = json.loads(first.read_text())
    # seed 1 is in both files with the same settings: one run, the merged file's
    assert sorted(r["seed"] for r in stored["runs"]) == [0, 1, 2]
    assert [i["runs_added"] for i in stored["invocations"]] == [2, 2]
    assert stored["summary_of_the_shipped_presets"][0]["seeds"] == [0, 1, 2]
    assert [e["accuracy"] for e in stored["ensembles"]] == [1.0]  # the other file's ensemble, once


def test_recipe_v1_only_reports(bench, tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--json", str(tmp_path / "x.json"), "--recipe", "v1"])
    assert "only reports" in capsys.readouterr().err


def test_report_draws_the_figure_and_plot_needs_report(bench, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "_run_one", _fake_run(bench, []))
    path = tmp_path / "ucr.json"
    assert (
        bench.main(
            ["--json", str(path), "--models", "lstm_fcn", "--seeds", "0", "1", "--datasets", "GunPoint"]
        )
        == 0
    )
    png = tmp_path / "fig" / "ucr.png"
    assert bench.main(["--json", str(path), "--report", "--plot", str(png)]) == 0
    assert f"figure: {png}" in capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):
        bench.main(["--json", str(path), "--plot", str(png)])
    assert "--plot draws the report's figure" in capsys.readouterr().err


# -- seed ensembles: fake finished runs whose `cnnlstm predict` is PredictionWriter on given probabilities


def _write_predictions(folder, probs, targets, class_names=("a", "b")):
    """predictions.csv as `cnnlstm predict` writes it (the real PredictionWriter), in ``folder``."""
    from types import SimpleNamespace

    import torch

    from cnnlstm.training.callbacks import PredictionWriter

    batch = {"probs": torch.tensor(probs, dtype=torch.float32), "target": torch.tensor(targets)}
    writer = PredictionWriter(folder, class_names=list(class_names))
    writer.write_on_epoch_end(SimpleNamespace(is_global_zero=True), None, [batch], None)
    return folder / "predictions.csv"


# Three runs call the one case "b" at 0.6, two call it "a" at 1.0: the majority of the argmaxes
# says "b", the mean probability (a 0.64, b 0.36) says "a", the true class.
_PROBS = [[[0.4, 0.6]]] * 3 + [[[1.0, 0.0]]] * 2
_TARGETS = [0]


def _ensemble_run(bench, seed, test_acc, dataset="GunPoint"):
    return {
        "dataset": dataset,
        "model": "lstm_fcn",
        "seed": seed,
        "test_acc": test_acc,
        "fit_s": 1.0,
        "epochs": 3,
        "best_epoch": 2,
        "parameters": 10,
        "finished_at": f"2026-01-01T00:00:0{seed}+00:00",
        **bench.SHIPPED,
    }


def _finished_runs(bench, out, probs=_PROBS, targets=_TARGETS, dataset="GunPoint"):
    """Five runs in a JSON's form and their folders under ``out``: summary.json of a finished fit
    and the predictions its checkpoint gives; the test accuracy recorded is the argmax's."""
    runs = []
    for seed, p in enumerate(probs):
        folder = out / f"{dataset}-lstm_fcn-seed{seed}"
        folder.mkdir(parents=True)
        summary = {
            "fit_metrics": {"train/acc": 1.0},
            "best_checkpoint": str(folder / "checkpoints/epoch002.ckpt"),
        }
        (folder / "summary.json").write_text(json.dumps(summary))
        _write_predictions(folder, p, targets[seed] if isinstance(targets[0], list) else targets)
        pred = [max(range(len(row)), key=row.__getitem__) for row in p]
        t = targets[seed] if isinstance(targets[0], list) else targets
        runs.append(
            _ensemble_run(bench, seed, sum(a == b for a, b in zip(pred, t, strict=True)) / len(t), dataset)
        )
    return runs


@pytest.fixture
def no_predict(bench, monkeypatch):
    """`cnnlstm predict` stands in as the predictions.csv each fake run folder already holds."""
    calls = []

    def predict(run, out, extra):
        calls.append(run["seed"])
        return out / f"{run['dataset']}-{run['model']}-seed{run['seed']}" / "predictions.csv"

    monkeypatch.setattr(bench, "predict_run", predict)
    return calls


def test_soft_vote_is_the_argmax_of_the_mean_probability_not_the_majority(bench, tmp_path):
    runs = _finished_runs(bench, tmp_path)
    assert [r["test_acc"] for r in runs] == [0.0, 0.0, 0.0, 1.0, 1.0]
    preds = [
        bench.read_predictions(tmp_path / f"GunPoint-lstm_fcn-seed{s}" / "predictions.csv") for s in range(5)
    ]
    assert preds[0].classes == ("a", "b") and preds[0].probs.tolist() == [[0.4, 0.6]]
    row = bench.ensemble(runs, preds)
    assert row["acc"] == 1.0  # majority vote of the argmaxes would say "b": accuracy 0
    assert row["seeds"] == [0, 1, 2, 3, 4] and row["single_accs"] == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert bench.soft_vote([p.probs for p in preds]).tolist() == [0]


def test_predictions_of_another_test_order_are_refused(bench, tmp_path):
    probs = [[[0.9, 0.1], [0.2, 0.8]]] * 5
    targets = [[0, 1]] * 4 + [[1, 0]]  # seed 4 saw the test cases in another order
    runs = _finished_runs(bench, tmp_path, probs, targets)
    preds = [
        bench.read_predictions(tmp_path / f"GunPoint-lstm_fcn-seed{s}" / "predictions.csv") for s in range(5)
    ]
    with pytest.raises(bench.EnsembleRefused, match="seed 4's predictions have other classes or targets"):
        bench.ensemble(runs, preds)


def test_only_pairs_with_all_five_seeds_of_these_settings_make_an_ensemble(bench):
    full = [_ensemble_run(bench, s, 0.9) for s in range(5)]
    four = [_ensemble_run(bench, s, 0.9, "ArrowHead") for s in range(4)]
    other = [{**_ensemble_run(bench, 4, 0.9, "ArrowHead"), "extra": ["--data.batch_size=8"]}]
    groups, skipped = bench.ensemble_groups(
        full + four + other, bench.SHIPPED, ["ArrowHead", "GunPoint"], ["lstm_fcn"]
    )
    assert [[r["seed"] for r in g] for g in groups] == [[0, 1, 2, 3, 4]] and groups[0][0][
        "dataset"
    ] == "GunPoint"
    assert skipped == ["ArrowHead lstm_fcn: seeds [4] not run; no ensemble"]


def _ensemble_argv(path, out):
    return ["--ensembles", "--json", str(path), "--out", str(out), "--models", "lstm_fcn"]


def test_a_predict_accuracy_other_than_the_recorded_test_refuses_the_ensemble(
    bench, tmp_path, no_predict, capsys
):
    runs = _finished_runs(bench, tmp_path / "runs")
    runs[2]["test_acc"] = 1.0  # its predictions give 0.0
    path = tmp_path / "ucr.json"
    path.write_text(json.dumps({"runs": runs}))
    assert bench.main(_ensemble_argv(path, tmp_path / "runs")) == 1
    assert "seed 2: predict 0.000000, test_acc 1.000000" in capsys.readouterr().out
    assert "ensembles" not in json.loads(path.read_text())  # nothing written


def test_an_unfinished_run_folder_is_not_predicted(bench, tmp_path, no_predict, capsys):
    runs = _finished_runs(bench, tmp_path / "runs")
    (tmp_path / "runs" / "GunPoint-lstm_fcn-seed3" / "summary.json").write_text("{}")  # still training
    path = tmp_path / "ucr.json"
    path.write_text(json.dumps({"runs": runs}))
    assert bench.main(_ensemble_argv(path, tmp_path / "runs")) == 1
    assert no_predict == [] and "seed3: the fit did not finish" in capsys.readouterr().out


def test_ensembles_round_trip_through_the_json_and_the_report(
    bench, tmp_path, monkeypatch, no_predict, capsys
):
    runs = _finished_runs(bench, tmp_path / "runs")
    path = tmp_path / "ucr.json"
    path.write_text(json.dumps({"runs": runs}))
    assert bench.main(_ensemble_argv(path, tmp_path / "runs")) == 0
    assert no_predict == [0, 1, 2, 3, 4]
    stored = json.loads(path.read_text())["ensembles"]
    assert [(e["dataset"], e["acc"], e["single_accs"]) for e in stored] == [
        ("GunPoint", 1.0, [0.0, 0.0, 0.0, 1.0, 1.0])
    ]

    # a later invocation that trains (here ArrowHead seed 0) keeps the ensembles
    monkeypatch.setattr(bench, "_run_one", _fake_run(bench, []))
    common = ["--json", str(path), "--models", "lstm_fcn", "--seeds", "0", "--datasets", "ArrowHead"]
    assert bench.main(common) == 0
    assert json.loads(path.read_text())["ensembles"] == stored
    capsys.readouterr()
    assert bench.main(["--json", str(path), "--report"]) == 0
    row = "| GunPoint | lstm_fcn | 0, 1, 2, 3, 4 | 0.400 | 1.000 | 1.000 (FCN) | >= 0.980 | yes |"
    assert row in capsys.readouterr().out

    # a member run rerun since: the ensemble is shown as stale, not judged
    rows = json.loads(path.read_text())["runs"]
    next(r for r in rows if r["dataset"] == "GunPoint" and r["seed"] == 1)["finished_at"] = "later"
    data = json.loads(path.read_text())
    data["runs"] = rows
    path.write_text(json.dumps(data))
    assert bench.main(["--json", str(path), "--report"]) == 0
    assert "| >= 0.980 | stale: a member run was rerun" in capsys.readouterr().out


def test_predict_refuses_a_folder_whose_best_is_not_the_selected_checkpoint(bench, tmp_path):
    folder = tmp_path / "GunPoint-lstm_fcn-seed0"
    (folder / "checkpoints").mkdir(parents=True)
    for name in ("epoch001.ckpt", "last.ckpt"):
        (folder / "checkpoints" / name).write_bytes(b"")
    summary = {"fit_metrics": {}, "best_checkpoint": str(folder / "checkpoints" / "epoch002.ckpt")}
    (folder / "summary.json").write_text(json.dumps(summary))
    run = _ensemble_run(bench, 0, 0.9)
    with pytest.raises(bench.EnsembleRefused, match=r"best would read \['epoch001.ckpt'\], not the selected"):
        bench.predict_run(run, tmp_path, [])


def test_v2_runs_of_univariate_sets_are_v3_runs_and_no_others(bench):
    v2, v3 = bench.RECIPES["v2"], bench.RECIPES["v3"]
    run = {"dataset": "GunPoint", "recipe": v2}  # one channel: v3's auto normalisation is v2's series
    assert bench.same_recipe(run, v3) and bench.same_recipe(run, v2)
    assert bench.same_recipe({"dataset": "GunPoint", "recipe": v3}, v2)
    run = {"dataset": "BasicMotions", "recipe": v2}  # six channels: v3 standardises them over TRAIN
    assert not bench.same_recipe(run, v3) and bench.same_recipe(run, v2)
    assert not bench.same_recipe({"dataset": "GunPoint", "recipe": bench.RECIPES["v1"]}, v3)
    shipped = dict(bench.SHIPPED, recipe=v2)
    settings = {k: shipped[k] for k in bench.SETTING_KEYS}
    assert bench.same_settings({"dataset": "GunPoint", **settings}, bench.SHIPPED)
    assert not bench.same_settings({"dataset": "GunPoint", **settings, "extra": ["--x=1"]}, bench.SHIPPED)
