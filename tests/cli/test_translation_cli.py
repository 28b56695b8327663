"""The real ``cnnlstm`` command on translation: numbers preset fit → test → predict, a user's two-file corpus."""

from __future__ import annotations

import json

import pytest

from cnnlstm.cli import list_presets, main

TINY = [
    "--model.init_args.name=conv_lstm_translator_tiny",
    "--model.init_args.model_kwargs={}",
    "--trainer.max_epochs=1",
    "--trainer.limit_train_batches=3",
    "--quiet",
]
NUMBERS = ["--data.train_size=60", "--data.val_size=8", "--data.test_size=8", "--data.batch_size=16"]


def corpus_args(corpus, root) -> list[str]:
    """The ``translation`` preset on a user's English→German corpus, tiny, into ``root``."""
    return [
        "--config",
        "translation",
        f"--data.root={corpus}",
        "--data.source_lang=en",
        "--data.vocab_size=60",
        "--data.batch_size=8",
        f"--trainer.default_root_dir={root}",
        *TINY,
    ]


def test_translation_presets_are_listed():
    presets = list_presets()
    for name in ("numbers-en-de", "numbers-en-fr", "software-en-de", "translation"):
        assert name in presets and presets[name]


@pytest.mark.slow
def test_numbers_fit_test_predict(tmp_path, capsys):
    root = tmp_path / "run"
    common = ["--config", "numbers-en-de", f"--trainer.default_root_dir={root}", *TINY, *NUMBERS]
    assert main(["fit", *common]) == 0
    out = capsys.readouterr().out
    assert "reference" in out  # sample translations printed after the validation epoch
    assert main(["test", "--ckpt_path", "best", *common]) == 0
    summary = json.loads((root / "summary.json").read_text())
    metrics = summary["test_metrics"]
    assert {"test/exact_match", "test/chrf", "test/bleu", "test/cer", "test/ter"} <= set(metrics)
    assert summary["test_bleu_signature"].startswith("nrefs:1")
    assert len(summary["test_samples"]) == 3 and summary["data"]["tokenizer"] == "bpe"
    assert (root / "attention_0.png").read_bytes()[:4] == b"\x89PNG"
    source = tmp_path / "in.txt"
    source.write_text("twenty-one\n\nthree hundred\n")
    assert main(["predict", "--ckpt_path", "best", *common, f"--data.input={source}"]) == 0
    lines = (root / "translations.txt").read_text(encoding="utf-8").split("\n")
    assert len(lines) == 4 and lines[-1] == ""  # one line per input line, the empty one included
    exported = tmp_path / "exported"
    assert (
        main(["export", "--ckpt_path", str(root / "checkpoints" / "last.ckpt"), "--output", str(exported)])
        == 0
    )
    report = json.loads((exported / "translation.json").read_text())
    assert report["same_tokens"] and report["tokenizer"]["kind"] == "bpe"


@pytest.mark.slow
def test_a_users_two_file_corpus_trains_and_bad_lines_are_reported(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    en = [f"open file {i} in %(folder)s" for i in range(40)] + ["", "close"]
    de = [f"Datei {i} in %(folder)s öffnen" for i in range(40)] + ["leer", "schließen"]
    (corpus / "train.en").write_text("\n".join(en) + "\n", encoding="utf-8")
    (corpus / "train.de").write_text("\n".join(de) + "\n", encoding="utf-8")
    root = tmp_path / "run"
    args = [*corpus_args(corpus, root), "--model.init_args.beam_size=2"]
    assert main(["data", "check", *args[:-5], "--quiet"]) == 0
    assert main(["fit", *args]) == 0
    summary = json.loads((root / "summary.json").read_text())
    assert summary["skipped_files"] == 1 and summary["skipped"][0]["line"] == 41
    assert summary["data"]["layout"] == "aligned" and summary["data"]["source_lang"] == "en"
    assert summary["data"]["placeholders"]["reserved_tokens"] == 1  # masked by default
    source = tmp_path / "in.txt"
    source.write_text("open file 3 in {0}\nclose %(folder)s\n", encoding="utf-8")
    predict = ["predict", "--ckpt_path", "best", *args, f"--data.input={source}"]
    assert main(predict) == 0
    lines = (root / "translations.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and not any("⟦0⟧" in line for line in lines)  # every mark restored or removed
    assert main([*predict, "--data.protect_placeholders=false"]) != 0  # another rule than the checkpoint's
    assert "placeholder protection" in capsys.readouterr().err
    (corpus / "train.de").write_text("\n".join(de[:-1]) + "\n", encoding="utf-8")
    assert main(["fit", *args]) == 2
    err = capsys.readouterr().err
    assert "42 lines but" in err and "has 41" in err


def test_missing_corpus_root_is_one_clear_line(tmp_path, capsys):
    code = main(["fit", "--config", "translation", f"--data.root={tmp_path / 'nope'}", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "is not a folder of parallel text files" in err and "Traceback" not in err


@pytest.mark.slow
def test_the_copy_option_trains_tests_predicts_and_exports(tmp_path):
    """``--model.model_kwargs.copy true``: stored in the checkpoint, reloaded by test / predict /
    export, the attention pictures still drawn, and the ONNX step (with its source input) checked."""
    import torch

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = ["Django", "Wagtail", "Sphinx", "JupyterLab", "Babel"]
    en = [f"open {names[i % 5]} file {i}" for i in range(40)]
    de = [f"{names[i % 5]} Datei {i} öffnen" for i in range(40)]
    for split, rows in (("train", slice(0, 32)), ("valid", slice(32, 36)), ("test", slice(36, 40))):
        (corpus / f"{split}.en").write_text("\n".join(en[rows]) + "\n", encoding="utf-8")
        (corpus / f"{split}.de").write_text("\n".join(de[rows]) + "\n", encoding="utf-8")
    root = tmp_path / "run"
    args = [*corpus_args(corpus, root), "--model.model_kwargs.copy", "true"]
    args += ["--model.init_args.beam_size=1"]  # greedy keeps the attention it drew (beam search does not)
    assert main(["fit", *args]) == 0
    checkpoint = torch.load(root / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["hyper_parameters"]["model_kwargs"]["copy"] is True
    assert any("copy_gate" in k for k in checkpoint["state_dict"])
    assert main(["test", "--ckpt_path", "best", *args]) == 0
    summary = json.loads((root / "summary.json").read_text())
    assert "test/chrf" in summary["test_metrics"]
    assert (root / "attention_0.png").read_bytes()[:4] == b"\x89PNG"
    source = tmp_path / "in.txt"
    source.write_text("open Sphinx file 7\n", encoding="utf-8")
    assert main(["predict", "--ckpt_path", "best", *args, f"--data.input={source}"]) == 0
    assert len((root / "translations.txt").read_text(encoding="utf-8").splitlines()) == 1
    exported = tmp_path / "exported"
    ckpt = str(root / "checkpoints" / "last.ckpt")
    assert main(["export", "--ckpt_path", ckpt, "--output", str(exported)]) == 0
    report = json.loads((exported / "translation.json").read_text())
    assert report["copy"] is True and report["model_kwargs"]["copy"] is True and report["same_tokens"]
    assert report["decoder_step"]["inputs"][-1] == "source"
