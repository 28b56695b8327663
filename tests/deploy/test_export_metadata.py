"""Class names and preprocessing travel from the data module to checkpoints, config.json and the
safetensors metadata; ``cnnlstm export`` reads them, and ``--ckpt_path last|best`` resolves a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

import cnnlstm
from cnnlstm.deploy._common import CONFIG_FILE, WEIGHTS_FILE
from tests.deploy._exports import export_lrcn_tiny

NAMES = ["left", "right", "up"]
PREP = {"frame_size": [32, 32], "num_frames": 6, "sampling": "segments", "mean": [0.5] * 3, "std": [0.25] * 3}


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


def test_export_writes_class_names_and_preprocessing(tmp_path):
    pytest.importorskip("safetensors")
    export_lrcn_tiny(tmp_path, class_names=NAMES, preprocessing=PREP)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert config["class_names"] == NAMES and config["preprocessing"] == PREP
    meta = _metadata(tmp_path / WEIGHTS_FILE)
    assert json.loads(meta["cnnlstm.class_names"]) == NAMES
    assert json.loads(meta["cnnlstm.preprocessing"]) == PREP


def test_export_without_metadata_writes_none(tmp_path):
    pytest.importorskip("safetensors")
    export_lrcn_tiny(tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert "class_names" not in config and "preprocessing" not in config
    assert not any(
        k.startswith("cnnlstm.") and k != "cnnlstm.aliases" for k in _metadata(tmp_path / WEIGHTS_FILE)
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"class_names": ["a", "b"]}, "class_names has 2 names but the model has num_classes=3"),
        ({"class_names": ["a", "", "c"]}, "class_names must be a non-empty list of non-empty strings"),
        ({"class_names": []}, "class_names must be a non-empty list"),
        ({"preprocessing": {"mean": object()}}, "preprocessing is not JSON-serialisable"),
        ({"preprocessing": {"mean": float("nan")}}, "preprocessing is not JSON-serialisable"),
        ({"preprocessing": [1, 2]}, "preprocessing must be a dict; received list"),
    ],
)
def test_export_rejects_bad_metadata_before_writing(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        export_lrcn_tiny(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


# --- the checkpoint entry and `cnnlstm export` ----------------------------------------------------


def _checkpoint(path: Path, *, entry: dict | None, class_names: list[str] | None = None) -> Path:
    """A checkpoint as `cnnlstm fit` writes it (the parts export reads) for lrcn_tiny, 3 classes."""
    torch.manual_seed(0)
    model = cnnlstm.create_model("lrcn_tiny", num_classes=3)
    ckpt = {
        "hyper_parameters": {
            "name": "lrcn_tiny",
            "num_classes": 3,
            "input_shape": [6, 3, 32, 32],
            "model_kwargs": None,
            "class_names": class_names,
        },
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
    }
    if entry is not None:
        ckpt["cnnlstm"] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path


def _export(argv: list[str], capsys) -> tuple[int, str]:
    from cnnlstm.cli import main

    code = main(["export", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.slow
def test_cli_export_copies_the_checkpoint_entry_into_config(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    ckpt = _checkpoint(tmp_path / "a.ckpt", entry={"class_names": NAMES, "preprocessing": PREP})
    code, printed = _export(["--ckpt_path", str(ckpt), "--output", str(tmp_path / "out")], capsys)
    assert code == 0, printed
    config = json.loads((tmp_path / "out" / CONFIG_FILE).read_text())
    assert config["class_names"] == NAMES and config["preprocessing"] == PREP
    assert "holds no preprocessing" not in printed
    assert f"config.json: 3 class names, preprocessing {sorted(PREP)}" in printed


@pytest.mark.slow
def test_cli_export_of_an_older_checkpoint_says_preprocessing_is_missing(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    ckpt = _checkpoint(tmp_path / "a.ckpt", entry=None, class_names=NAMES)
    code, printed = _export(["--ckpt_path", str(ckpt), "--output", str(tmp_path / "out")], capsys)
    assert code == 0, printed
    assert "holds no preprocessing" in printed
    config = json.loads((tmp_path / "out" / CONFIG_FILE).read_text())
    assert config["class_names"] == NAMES and "preprocessing" not in config


def _run(root: Path) -> Path:
    """A run folder with a last and a best checkpoint, told apart by their class names."""
    _checkpoint(
        root / "checkpoints" / "last.ckpt", entry={"class_names": ["l1", "l2", "l3"], "preprocessing": {}}
    )
    _checkpoint(
        root / "checkpoints" / "epoch001.ckpt", entry={"class_names": ["b1", "b2", "b3"], "preprocessing": {}}
    )
    return root


@pytest.fixture
def export_without_formats(monkeypatch):
    """`cnnlstm export` with export_model recording its arguments instead of exporting."""
    import cnnlstm.deploy.export as deploy_export

    calls: list[dict] = []
    monkeypatch.setattr(deploy_export, "export_model", lambda model, **kw: calls.append(kw) or {})
    return calls


@pytest.mark.parametrize(("which", "first"), [("last", "l1"), ("best", "b1")])
def test_cli_export_last_and_best_of_a_run_folder(tmp_path, capsys, export_without_formats, which, first):
    run = _run(tmp_path / "runs" / "x" / "20260101-000000")
    code, printed = _export(
        ["--ckpt_path", which, "--run", str(run), "--output", str(tmp_path / "o")], capsys
    )
    assert code == 0, printed
    assert export_without_formats[0]["class_names"][0] == first


def test_cli_export_last_of_the_newest_run_of_a_preset(tmp_path, capsys, monkeypatch, export_without_formats):
    monkeypatch.chdir(tmp_path)
    _run(Path("runs/synthetic-tiny/20260101-000000"))
    newest = _run(Path("runs/synthetic-tiny/20260202-000000"))
    _checkpoint(newest / "checkpoints" / "last.ckpt", entry={"class_names": ["n1", "n2", "n3"]})
    code, printed = _export(["--ckpt_path", "last", "--config", "synthetic-tiny", "--output", "o"], capsys)
    assert code == 0, printed
    assert export_without_formats[0]["class_names"] == ["n1", "n2", "n3"]
    assert (
        f"from {os.path.join('runs', 'synthetic-tiny', '20260202-000000', 'checkpoints', 'last.ckpt')} "
        in printed
    )


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--ckpt_path", "last"], "needs --run RUN_FOLDER or --config PRESET"),
        (["--ckpt_path", "last", "--run", "nowhere"], "has no checkpoints/ folder"),
        (
            ["--ckpt_path", "best", "--config", "synthetic-tiny"],
            "no run of 'synthetic-tiny' with checkpoints",
        ),
        (["--ckpt_path", "missing.ckpt"], "--ckpt_path 'missing.ckpt' does not exist"),
    ],
)
def test_cli_export_checkpoint_errors_are_one_line(tmp_path, capsys, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    code, printed = _export([*argv, "--output", "o"], capsys)
    assert code != 0
    errors = [line for line in printed.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and match in errors[0], printed


def test_cli_export_refuses_a_checkpoint_entry_that_is_not_a_dict(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "a.ckpt", entry=["not", "a", "dict"])  # type: ignore[arg-type]
    code, printed = _export(["--ckpt_path", str(ckpt), "--output", str(tmp_path / "o")], capsys)
    assert code != 0 and "checkpoint entry 'cnnlstm' must be a dict; found list" in printed


def test_a_safetensors_header_whose_length_starts_with_0x80_is_not_taken_for_a_pickle(tmp_path):
    """The header's length comes first; 0x80 as its low byte is not pickle's protocol opcode."""
    pytest.importorskip("safetensors")
    from cnnlstm.deploy.safetensors_io import read_safetensors, save_safetensors

    path = tmp_path / WEIGHTS_FILE
    for pad in range(256):
        save_safetensors({"w": torch.ones(2)}, path, metadata={"pad": "x" * pad})
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    torch.testing.assert_close(read_safetensors(path)["w"], torch.ones(2))
