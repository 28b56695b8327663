"""The real ``cnnlstm`` command on tiny presets: fit → test → predict → export → load_pretrained."""

from __future__ import annotations

import csv
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnlstm.cli import main

SMALL = ["--data.num_train=64", "--data.num_val=32", "--data.num_test=32", "--data.batch_size=16", "--quiet"]


def _fit(root: Path, *extra: str, preset: str = "synthetic-tiny") -> int:
    return main(
        [
            "fit",
            "--config",
            preset,
            f"--trainer.default_root_dir={root}",
            "--trainer.max_epochs=2",
            *SMALL,
            *extra,
        ]
    )


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_presets_and_models_are_listed(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "synthetic-tiny" in out and "LRCN" in out
    assert main(["models", "lrcn*"]) == 0
    out = capsys.readouterr().out
    assert "lrcn_tiny" in out and "classification" in out and "conv3d_lstm" not in out


def _event_tags(root) -> dict[str, set[str]]:
    """The scalar and image tags in a run's TensorBoard event files (TFRecord of Event protos)."""
    from tensorboardX.proto.event_pb2 import Event

    tags: dict[str, set[str]] = {"scalar": set(), "image": set()}
    for path in root.glob("events.out.tfevents.*"):
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            event = Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4  # length, its CRC, the record, its CRC
            for value in event.summary.value:
                kind = "image" if value.HasField("image") else "scalar"
                tags[kind].add(value.tag)
    return tags


@pytest.mark.slow
def test_fit_test_predict_export_load_pretrained(tmp_path, capsys):
    root = tmp_path / "run"
    assert _fit(root) == 0
    for name in (
        "config.yaml",
        "metrics.csv",
        "summary.json",
        "loss.png",
        "metrics.png",
        "confusion_val.png",
    ):
        assert (root / name).is_file(), name
    assert (root / "checkpoints" / "last.ckpt").is_file()
    assert list(root.glob("events.out.tfevents.*")), "no TensorBoard events"
    tags = _event_tags(root)
    assert {"pictures/loss", "pictures/metrics", "pictures/confusion_val"} <= tags["image"]
    assert "lr" in tags["scalar"] and "val/loss" in tags["scalar"]
    summary = json.loads((root / "summary.json").read_text())
    assert summary["epochs"] == 2 and summary["model"] == "lrcn_tiny"
    assert (
        summary["versions"]["torch"] == torch.__version__
        and summary["fit_wall_time_s"] > 0 < summary["fit_cpu_time_s"]
    )

    common = ["--config", "synthetic-tiny", f"--trainer.default_root_dir={root}", *SMALL]
    assert main(["test", "--ckpt_path", "best", *common]) == 0
    metrics = json.loads((root / "test_metrics.json").read_text())
    assert set(metrics) >= {"test/acc", "test/f1_macro", "test/loss"}
    assert (root / "confusion_test.png").is_file()
    assert main(["validate", "--ckpt_path", "last", *common]) == 0
    assert "val/acc" in json.loads((root / "validate_metrics.json").read_text())

    assert main(["predict", "--ckpt_path", "last", *common]) == 0
    with open(root / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    probabilities = {f"p_{name}" for name in ("0°", "90°", "180°", "270°")}
    assert (
        len(rows) == 32 and set(rows[0]) == {"index", "pred", "pred_name", "prob", "target"} | probabilities
    )
    for row in rows:
        assert abs(sum(float(row[p]) for p in probabilities) - 1) < 1e-4
        assert float(row["prob"]) == max(float(row[p]) for p in probabilities)

    out_dir = tmp_path / "export"
    assert (
        main(
            [
                "export",
                "--ckpt_path",
                str(root / "checkpoints" / "last.ckpt"),
                "--output",
                str(out_dir),
                "--step",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "onnx" in printed and "max |exported - eager|" in printed
    assert "step.onnx: 50 steps in onnxruntime" in printed  # lrcn_tiny streams: its step for any length
    assert json.loads((out_dir / "step.json").read_text())["max_abs_diff"] < 1e-4
    assert "sequence.onnx (any number of time steps): lengths [3, 7]" in printed
    assert json.loads((out_dir / "sequence.json").read_text())["max_abs_diff"] < 1e-4

    from cnnlstm.deploy.export import load_pretrained
    from cnnlstm.tasks import ClassificationTask
    from cnnlstm.training.checkpoint_io import safe_torch_load

    ckpt = safe_torch_load(root / "checkpoints" / "last.ckpt")
    task = ClassificationTask(**{k: v for k, v in ckpt["hyper_parameters"].items() if not k.startswith("_")})
    task.load_state_dict(ckpt["state_dict"])
    assert ckpt["cnnlstm"]["class_names"] == ["0°", "90°", "180°", "270°"]  # the export carries them
    assert json.loads((out_dir / "config.json").read_text())["class_names"] == ckpt["cnnlstm"]["class_names"]
    exported = load_pretrained(out_dir)
    x = torch.randn(3, *ckpt["hyper_parameters"]["input_shape"])
    with torch.no_grad():
        torch.testing.assert_close(exported(x), task.model.eval()(x))


@pytest.mark.slow
def test_bf16_mixed_precision_on_cpu(tmp_path):
    assert _fit(tmp_path / "bf16", "--trainer.max_epochs=1", "--trainer.precision=bf16-mixed") == 0
    assert json.loads((tmp_path / "bf16" / "summary.json").read_text())["precision"] == "bf16-mixed"


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "--config", "synthetic-tny"], "unknown preset 'synthetic-tny'; did you mean synthetic-tiny"),
        (
            ["fit", "--config", "synthetic-tiny", "--model.init_args.name=lrcnn_tiny"],
            "unknown model 'lrcnn_tiny'; did you mean lrcn_tiny",
        ),
        (
            ["fit", "--config", "synthetic-tiny", "--trainer.max_epoch=3"],
            "did you mean --trainer.max_epochs?",
        ),
        (
            ["fit", "--config", "synthetic-tiny", "--model.init_args.lrr=3"],
            "error: Option 'lrr' is not accepted",
        ),
        (
            ["fit", "--config", "synthetic-tiny", "--data.init_args.batch_size=0"],
            "error: --data.batch_size: batch_size must be a positive integer; received batch_size=0",
        ),
        (["fit", "--config", "missing/file.yaml"], "config file 'missing/file.yaml' does not exist"),
        (
            ["test", "--config", "synthetic-tiny", "--ckpt_path", "nowhere.ckpt"],
            "--ckpt_path 'nowhere.ckpt' does not exist",
        ),
        (["fitt"], "unknown command 'fitt'; did you mean fit"),
        (
            [
                "fit",
                "--config",
                "synthetic-conv3d",
                '--model.init_args.model_kwargs={"frame_size": [64, 64]}',
            ],
            "cannot take this data's samples of shape (8, 3, 32, 32)",
        ),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(args, message, tmp_path, capsys):
    code = main([*args, f"--trainer.default_root_dir={tmp_path}", "--quiet"])
    assert code != 0
    assert message in _error_line(capsys)


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="unknown preset"):
        main(["fit", "--config", "synthetic-tny", "--debug"])


@pytest.mark.slow
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    root = tmp_path / "nan"
    assert _fit(root, "--trainer.max_epochs=1") == 0
    good = root / "checkpoints" / "last.ckpt"
    before = good.read_bytes()
    poison = (
        '--trainer.callbacks+={"class_path": "tests.cli.poison.PoisonWeightsAt", "init_args": {"epoch": 1}}'
    )
    code = main(
        [
            "fit",
            "--config",
            "synthetic-tiny",
            f"--trainer.default_root_dir={root}",
            "--ckpt_path",
            "last",
            "--trainer.max_epochs=3",
            poison,
            *SMALL,
        ]
    )
    assert code == 1
    line = _error_line(capsys)
    assert "loss is" in line and "at epoch 1, batch" in line and "last complete checkpoint is kept" in line
    assert good.read_bytes() == before


def test_malicious_checkpoint_is_refused_and_never_executed(tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Payload(str(marker))}, evil)
    for command in (["test", "--config", "synthetic-tiny"], ["export", "--output", str(tmp_path / "x")]):
        code = main(
            [*command, "--ckpt_path", str(evil), f"--trainer.default_root_dir={tmp_path}", "--quiet"]
            if command[0] == "test"
            else [*command, "--ckpt_path", str(evil)]
        )
        assert code != 0
        assert "refusing to load" in _error_line(capsys)
    assert not marker.exists()


class _Payload:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(RUN_DIR_ENV, None)
    return subprocess.run(
        [sys.executable, "-m", "cnnlstm", *args], capture_output=True, text=True, env=env, **kwargs
    )


RUN_DIR_ENV = "CNNLSTM_RUN_DIR"


@pytest.mark.slow
def test_subprocess_ddp_two_cpu_processes(tmp_path):
    root = tmp_path / "ddp"
    result = _cli(
        "fit",
        "--config",
        "synthetic-tiny",
        f"--trainer.default_root_dir={root}",
        "--trainer.max_epochs=1",
        "--trainer.accelerator=cpu",
        "--trainer.strategy=ddp",
        "--trainer.devices=2",
        *SMALL,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((root / "summary.json").read_text())
    assert summary["num_devices"] == 2
    assert (root / "checkpoints" / "last.ckpt").is_file()


def _final_weights(root: Path) -> dict[str, torch.Tensor]:
    from cnnlstm.training.checkpoint_io import safe_torch_load

    return safe_torch_load(root / "checkpoints" / "last.ckpt")["state_dict"]


@pytest.mark.slow
def test_kill_minus_9_then_resume_ends_with_the_same_weights(tmp_path):
    """A real process is killed with SIGKILL mid-training; `--ckpt_path last` resumes exactly."""
    args = [
        "--config",
        "synthetic-tiny",
        "--trainer.max_epochs=6",
        "--data.num_train=256",
        "--data.batch_size=16",
        "--model.init_args.model_kwargs={dropout: 0.2}",
        "--quiet",
    ]
    killed_root = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnlstm", "fit", *args, f"--trainer.default_root_dir={killed_root}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != RUN_DIR_ENV},
    )
    last = killed_root / "checkpoints" / "last.ckpt"
    import time

    deadline = time.monotonic() + 240
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no cleanup, possibly in the middle of writing the next checkpoint
    proc.wait()
    assert proc.returncode == -9, "the run ended before it could be killed; make it longer"
    from cnnlstm.training.checkpoint_io import safe_torch_load

    epoch_at_kill = safe_torch_load(last)["epoch"]
    assert epoch_at_kill < 5
    for ckpt in last.parent.glob("*.ckpt"):  # every checkpoint on disk is complete
        safe_torch_load(ckpt)

    resumed = _cli(
        "fit", *args, f"--trainer.default_root_dir={killed_root}", "--ckpt_path", "last", timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    straight_root = tmp_path / "straight"
    straight = _cli("fit", *args, f"--trainer.default_root_dir={straight_root}", timeout=300)
    assert straight.returncode == 0, straight.stderr[-3000:]

    with open(killed_root / "metrics.csv") as f:  # the resumed run appended to the history:
        epochs = [row["epoch"] for row in csv.DictReader(f) if row.get("val/loss")]
    assert sorted(epochs, key=int) == [str(e) for e in range(6)]  # every epoch once, none lost or twice

    a, b = _final_weights(killed_root), _final_weights(straight_root)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_help_needs_no_config(capsys):
    assert main(["fit", "--help"]) == 0
    assert "--trainer.max_epochs" in capsys.readouterr().out
    assert main([]) == 0 and "cnnlstm fit --config" in capsys.readouterr().out


@pytest.mark.slow
def test_compile_flag_trains_a_compiled_model_with_plain_checkpoint_keys(tmp_path):
    root = tmp_path / "compiled"
    assert (
        main(
            [
                "fit",
                "--config",
                "synthetic-tiny",
                "--compile",
                "--trainer.max_epochs=1",
                "--data.num_train=32",
                "--data.num_val=16",
                "--data.num_test=16",
                f"--trainer.default_root_dir={root}",
                "--quiet",
            ]
        )
        == 0
    )
    ckpt = torch.load(root / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["hyper_parameters"]["compile"] is True
    assert all(not k.startswith("model._orig_mod") for k in ckpt["state_dict"])
    assert (
        main(
            [
                "test",
                "--config",
                "synthetic-tiny",
                "--data.num_test=16",
                f"--trainer.default_root_dir={root}",
                "--ckpt_path",
                "last",
                "--quiet",
            ]
        )
        == 0
    )


def test_resumed_history_drops_rows_of_epochs_the_checkpoint_lacks(tmp_path):
    from cnnlstm.training.loggers import ResumableCSVLogger

    (tmp_path / "metrics.csv").write_text("epoch,step,val/loss\n0,9,1.0\n1,19,0.9\n2,24,\n2,29,0.8\n")
    logger = ResumableCSVLogger(tmp_path, name="", version="")
    assert logger.drop_epochs_from(2) == 2
    assert (tmp_path / "metrics.csv").read_text().splitlines() == [
        "epoch,step,val/loss",
        "0,9,1.0",
        "1,19,0.9",
    ]
    assert logger.drop_epochs_from(2) == 0


@pytest.mark.slow
def test_compile_mode_reaches_torch_compile_and_bad_modes_are_named(tmp_path, capsys):
    from cnnlstm.tasks import ClassificationTask

    task = ClassificationTask(name="lrcn_tiny", num_classes=3, compile="reduce-overhead")
    assert task.model._compiled_call_impl is not None  # compiled in place (CUDA graphs on a GPU)
    with pytest.raises(ValueError, match="compile must be one of"):
        ClassificationTask(name="lrcn_tiny", num_classes=3, compile="fastest")
    root = tmp_path / "ro"
    assert (
        main(
            [
                "fit",
                "--config",
                "synthetic-tiny",
                "--compile=reduce-overhead",
                "--trainer.max_epochs=1",
                "--data.num_train=16",
                "--data.num_val=8",
                "--data.num_test=8",
                f"--trainer.default_root_dir={root}",
                "--quiet",
            ]
        )
        == 0
    )
    ckpt = torch.load(root / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["hyper_parameters"]["compile"] == "reduce-overhead"


def test_summary_and_data_check_show_the_resolved_inputs(tmp_path, capsys):
    root = tmp_path / "described"
    assert _fit(root, "--trainer.max_epochs=1") == 0
    summary = json.loads((root / "summary.json").read_text())
    assert summary["data"]["data_module"] == "SyntheticVideoDataModule"
    assert summary["data"]["samples"]["train"] > 0
    assert main(["data", "check", "--config", "synthetic-tiny", *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "resolved inputs:" in printed and "data_module" in printed
