"""benchmarks/cell_speed.py and benchmarks/nowcasting.py on tiny settings; the optical-flow baseline
extrapolates a moving echo."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests._benchmarks import load_benchmark


@pytest.fixture(autouse=True)
def _keep_threads():
    """The scripts set one thread for their timings; the rest of the suite keeps its own."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_cell_speed_checks_every_cell_against_its_reference(tmp_path):
    bench = load_benchmark("cell_speed")
    out = tmp_path / "cells.json"
    args = "--batch 1 --steps 2 --channels 2 --size 6 --hidden 3 --layers 2 --repeats 1 --warmup 0"
    bench.main([*args.split(), "--out", str(out)])
    rows = json.loads(out.read_text())["rows"]
    assert [r["cell"] for r in rows] == ["ConvGRU", "STLSTM (PredRNN)", "ConvLSTM"]
    assert all(r["check"] == "ok" and r["max_rel_diff"] < 1e-5 and r["cnnlstm_ms"] > 0 for r in rows)


def test_optical_flow_extrapolates_a_moving_echo_better_than_persistence():
    pytest.importorskip("skimage")
    bench = load_benchmark("nowcasting")
    rows, cols = np.mgrid[0:32, 0:32]

    def blob(t):  # moves 1.5 px right per frame
        return np.exp(-((rows - 16.0) ** 2 + (cols - 8.0 - 1.5 * t) ** 2) / 18.0).astype(np.float32)

    inputs = np.stack([blob(t) for t in range(3)])
    forecast = bench.optical_flow_forecast(inputs, 4)
    truth = np.stack([blob(t) for t in range(3, 7)])
    flow_error = np.abs(forecast - truth).mean(axis=(1, 2))
    persistence_error = np.abs(inputs[-1] - truth).mean(axis=(1, 2))
    assert (flow_error < 0.5 * persistence_error).all()


def test_nowcasting_benchmark_writes_scores_for_each_method(tmp_path):
    pytest.importorskip("skimage")
    bench = load_benchmark("nowcasting")
    out = tmp_path / "nowcast.json"
    bench.main(["--num-test", "2", "--size", "32", "--input", "3", "--target", "2", "--out", str(out)])
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"persistence", "optical flow"}
    assert np.array(results["optical flow"]["csi"]).shape == (5, 2)


def test_nowcasting_benchmark_scores_a_checkpoint_and_draws_its_curve(tmp_path, capsys):
    pytest.importorskip("skimage")
    from cnnlstm.tasks import ForecastingTask

    bench = load_benchmark("nowcasting")
    task = ForecastingTask(name="convlstm_forecaster_tiny", input_shape=[3, 1, 32, 32])
    ckpt = tmp_path / "last.ckpt"
    torch.save({"hyper_parameters": dict(task.hparams), "state_dict": task.state_dict()}, ckpt)
    out, curve = tmp_path / "nowcast.json", tmp_path / "csi.png"
    argv = ["--num-test", "2", "--size", "32", "--input", "3", "--target", "2", "--out", str(out)]
    bench.main([*argv, "--checkpoint", str(ckpt), "--curve", str(curve), "--markdown"])
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"persistence", "optical flow", "forecaster"}
    assert np.array(results["forecaster"]["far"]).shape == (5, 2)
    printed = capsys.readouterr().out
    assert "| forecaster | 30 |" in printed and "(threshold, lead) pairs" in printed
    assert curve.stat().st_size > 0
