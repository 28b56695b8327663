"""The README's plain-onnxruntime example runs on a small export and agrees with cnnlstm."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnlstm
from cnnlstm.data.video import clip_indices
from cnnlstm.deploy import Preprocess, export_model

DOC = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "### Deploying without cnnlstm (plain onnxruntime)"
NAMES = ["left", "right", "still"]


def _example() -> str:
    """The first python block under the plain-onnxruntime heading."""
    text = DOC.read_text()
    assert HEADING in text, f"{DOC} lost its heading {HEADING!r}"
    match = re.search(r"```python\n(.*?)```", text[text.index(HEADING) :], re.S)
    assert match, f"no python block under {HEADING!r} in {DOC}"
    return match.group(1)


def _run_example(folder: Path, monkeypatch) -> dict:
    monkeypatch.chdir(folder)
    namespace: dict = {"__name__": "__doc_example__"}
    exec(compile(_example(), str(DOC), "exec"), namespace)
    return namespace


def test_the_example_uses_only_numpy_onnxruntime_and_json():
    imported = set(re.findall(r"^(?:import|from) (\w+)", _example(), re.M))
    assert imported == {"json", "numpy", "onnxruntime"}


def test_the_examples_frame_sampling_is_evaluations():
    frame_ids = _example_functions()["frame_ids"]
    for total, n in ((t, n) for t in range(1, 61) for n in (1, 3, 6, 8)):
        for clips in (1, 2, 3):
            for sampling, stride in (("segments", 1), ("dense", 1), ("dense", 2)):
                for clip in range(clips):
                    expected = clip_indices(
                        total,
                        num_frames=n,
                        mode=sampling,
                        stride=stride,
                        train=False,
                        clip=clip,
                        num_clips=clips,
                    )
                    assert frame_ids(total, n, sampling, stride, clip, clips).tolist() == expected


def _example_functions() -> dict:
    """The example's definitions only (the lines before it reads the files)."""
    code = _example()
    definitions = code[code.index("def frame_ids") : code.index("\nn, clips")]
    namespace: dict = {"np": np}
    exec(definitions, namespace)
    return namespace


@pytest.mark.slow
def test_the_example_runs_and_matches_cnnlstm(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = cnnlstm.create_model("lrcn_tiny", num_classes=3).eval()
    prep = {
        "frame_size": [32, 32],
        "num_frames": 6,
        "sampling": "dense",
        "stride": 2,
        "clips_per_video": 2,
        "mean": [0.45, 0.5, 0.55],
        "std": [0.2, 0.25, 0.3],
    }
    export_model(
        model,
        model_name="lrcn_tiny",
        model_kwargs={"num_classes": 3},
        example_input=torch.randn(2, 6, 3, 32, 32),
        output_dir=tmp_path / "export",
        formats=["onnx"],
        class_names=NAMES,
        preprocessing=prep,
    )
    video = np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    np.save(tmp_path / "video.npy", video)
    for sampling in ("dense", "segments"):
        config = json.loads((tmp_path / "export" / "config.json").read_text())
        config["preprocessing"]["sampling"] = sampling
        (tmp_path / "export" / "config.json").write_text(json.dumps(config))

        result = _run_example(tmp_path, monkeypatch)

        library = Preprocess(preprocessing=config["preprocessing"], input_shape=[6, 3, 32, 32])
        clips = [
            video[clip_indices(20, num_frames=6, mode=sampling, stride=2, train=False, clip=c, num_clips=2)]
            for c in range(2)
        ]
        x = torch.stack([torch.cat([library.frame(f) for f in clip]) for clip in clips])
        with torch.no_grad():
            expected = torch.softmax(model(x).mean(0), dim=-1).numpy()
        np.testing.assert_allclose(result["probs"], expected, rtol=1e-4, atol=1e-5)
        assert result["label"] == NAMES[int(expected.argmax())]
        assert capsys.readouterr().out.startswith(f"{result['label']}: ")
