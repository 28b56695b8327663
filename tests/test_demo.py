"""The demo's table and files."""

from __future__ import annotations

import json

import pytest

from cnnlstm.demo import main, to_markdown


def test_demo_writes_table_for_tiny_models(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--pattern", "*_tiny", "--repeats", "1"]) == 0
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "registry.json").read_text())
    names = [row["model"] for row in data["rows"]]
    assert names == sorted(n for n in names if n.endswith("_tiny")) and len(names) >= 3
    for row in data["rows"]:
        assert row["output shape"] == [2, 10]
        assert row["params"] > 0 and row["ms / forward"] > 0
        assert row["model"] in printed
    assert (tmp_path / "registry.md").read_text().count("\n| ") == len(names) + 1


def test_demo_rejects_a_pattern_matching_nothing(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(["--out", str(tmp_path), "--pattern", "nothing*"])
    assert err.value.code != 0
    assert "matches no model" in capsys.readouterr().err


def test_markdown_formatting():
    row = {"model": "m", "task": "t", "input shape": [1, 2], "output shape": [1], "params": 12345, "ms / forward": 1.5}
    assert to_markdown([row]).splitlines()[-1] == "| m | t | (1, 2) | (1) | 12,345 | 1.5 |"
