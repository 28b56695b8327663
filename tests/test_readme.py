"""The README's Python example runs as written (with stand-in camera frames)."""

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def test_using_the_library_example_runs(tmp_path, monkeypatch):
    text = README.read_text()
    section = text[text.index("## Using the library") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {"camera_frames": torch.rand(3, 1, 3, 112, 112)}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["h_n"].shape == (4, 4, 16)
    assert namespace["probs"].shape == (1, 101)
