"""`cnnlstm` on speech: fit → test → predict → export on a generated corpus; a LibriSpeech-style folder trains."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")
soundfile = pytest.importorskip("soundfile")

from cnnlstm.cli import main  # noqa: E402
from cnnlstm.data.speech_synth import generate_corpus  # noqa: E402

pytestmark = pytest.mark.slow  # each test trains for an epoch: a few seconds

TINY = [
    "--model.init_args.name=cnn_bilstm_ctc_tiny",
    "--model.init_args.model_kwargs={}",
    "--data.init_args.n_mels=16",
    "--data.init_args.batch_size=4",
    "--trainer.max_epochs=1",
    "--quiet",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("digits")
    generate_corpus(root, train=12, val=3, test=3, test_heldout=3, seed=1)
    return root


def test_fit_test_predict_export_on_the_generated_corpus(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    common = ["--config", "speech-digits", f"--trainer.default_root_dir={run}", *TINY]
    data = [f"--data.init_args.root={corpus}", "--data.init_args.generate=null"]
    assert main(["fit", *common, *data]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["model"] == "cnn_bilstm_ctc_tiny" and "val/wer" in summary["fit_metrics"]
    assert summary["skipped_files"] == 0

    held_out = [*data, "--data.init_args.test_split=test_heldout"]
    assert main(["test", "--ckpt_path", "last", *common, *held_out]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert (
        summary["test_data"]["samples"] == {"test": 3}
        and summary["test_data"]["test_split"] == "test_heldout"
    )
    assert set(summary["test_jiwer"]) >= {"wer", "cer"} and summary["test_jiwer"]["words"] > 0
    assert summary["test_metrics"]["test/wer"] == pytest.approx(summary["test_jiwer"]["wer"], abs=1e-6)
    assert (run / "alignment_test.png").stat().st_size > 0

    folder = [f"--data.init_args.root={corpus / 'test_heldout'}", "--data.init_args.generate=null"]
    assert main(["predict", "--ckpt_path", "last", *common, *folder, "--data.init_args.timestamps=true"]) == 0
    with open(run / "transcripts.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [Path(r["path"]).name for r in rows] == ["000000.wav", "000001.wav", "000002.wav"]
    assert all(isinstance(json.loads(r["words"]), list) for r in rows)

    out = tmp_path / "export"
    assert main(["export", "--ckpt_path", str(run / "checkpoints" / "last.ckpt"), "--output", str(out)]) == 0
    vocabulary = json.loads((out / "vocabulary.json").read_text())
    assert vocabulary["tokens"][0] == "<blank>" and vocabulary["preprocessing"]["n_mels"] == 16
    report = json.loads((out / "acoustic_model_report.json").read_text())
    assert report["max_abs_diff"] < 1e-4 and len(report["max_abs_diff_per_frames"]) == 3


def _librispeech(root: Path) -> None:
    rng = np.random.default_rng(0)
    for split, count in (("train-clean-5", 8), ("dev-clean-2", 2), ("test-clean", 2)):
        chapter = root / split / "103" / "1240"
        chapter.mkdir(parents=True)
        lines = []
        for k in range(count):
            uid = f"103-1240-{k:04d}"
            soundfile.write(
                str(chapter / f"{uid}.flac"), (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000
            )
            lines.append(f"{uid} {'HELLO WORLD' if k % 2 else 'GOOD MORNING'}")
        (chapter / "103-1240.trans.txt").write_text("\n".join(lines) + "\n")
    (root / "train-clean-5" / "103" / "1240" / "103-1240-0000.flac").write_bytes(b"fLaC broken")


def test_a_librispeech_folder_trains_and_broken_files_are_reported(tmp_path, capsys):
    root = tmp_path / "LibriSpeech"
    _librispeech(root)
    run = tmp_path / "run"
    args = [
        "--config",
        "speech-librispeech",
        f"--data.init_args.root={root}",
        f"--trainer.default_root_dir={run}",
    ]
    args += [*TINY, "--data.init_args.num_workers=0"]
    assert main(["data", "check", *args[:3], "--data.init_args.n_mels=16"]) == 0
    out = capsys.readouterr().out
    assert "skipped: 1" in out and "103-1240-0000.flac: cannot decode" in out
    assert main(["fit", *args]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["skipped_files"] == 1 and summary["data"]["layout"] == "librispeech"
    assert summary["data"]["samples"] == {"train": 7, "val": 2}  # fit sets up train and val


def test_export_step_writes_the_streaming_chunk_step(corpus, tmp_path):
    run = tmp_path / "run"
    tiny = [a for a in TINY if not a.startswith("--model.init_args.name")]
    args = ["--config", "speech-stream", f"--trainer.default_root_dir={run}", *tiny]
    args += [
        "--model.init_args.name=cnn_lstm_ctc_stream_tiny",
        f"--data.init_args.root={corpus}",
        "--data.init_args.generate=null",
        "--trainer.limit_train_batches=2",
    ]
    assert main(["fit", *args]) == 0
    out = tmp_path / "export"
    ckpt = str(run / "checkpoints" / "last.ckpt")
    assert main(["export", "--step", "--ckpt_path", ckpt, "--output", str(out)]) == 0
    report = json.loads((out / "acoustic_step.json").read_text())
    assert report["same_greedy_transcripts"] and report["max_abs_diff"] < 1e-4
    assert report["inputs"]["features"] == ["batch", "chunk (a multiple of 4)", 16]
    assert (out / "acoustic_model.onnx").is_file() and not (out / "step.onnx").exists()
