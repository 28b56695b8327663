"""export_model and load_pretrained: every format matches eager, loading never unpickles."""

from __future__ import annotations

import json
import pickle
import shutil
import sys

import pytest
import torch
from torch import nn

import cnnlstm
from cnnlstm.deploy import ExportVerificationError, export_model, load_pretrained
from cnnlstm.deploy._common import CONFIG_FILE, WEIGHTS_FILE, compare_outputs
from cnnlstm.deploy.safetensors_io import read_safetensors, save_safetensors
from cnnlstm.models import UnknownModelError, _registry


def _tiny(name: str, *, num_classes: int = 3, batch: int = 2) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = cnnlstm.create_model(name, num_classes=num_classes)
    return model, torch.randn(batch, *cnnlstm.model_info(name).test_input_size)


def _needs(*modules: str) -> None:
    for module in modules:
        pytest.importorskip(module)


@pytest.fixture
def weights_dir(tmp_path):
    """An lrcn_tiny export (num_classes=3) holding config.json and model.safetensors only."""
    _needs("safetensors")
    model, x = _tiny("lrcn_tiny")
    out = tmp_path / "lrcn"
    export_model(
        model,
        model_name="lrcn_tiny",
        model_kwargs={"num_classes": 3},
        example_input=x,
        output_dir=out,
        formats=("safetensors",),
    )
    return out


def _edit_config(directory, **changes):
    path = directory / CONFIG_FILE
    config = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            del config[key]
        else:
            config[key] = value
    path.write_text(json.dumps(config))


# Every registered model's export to every format is tested in tests/models/test_registry_suite.py.


# --- tied weights and a 3-D input, through a temporarily registered model -------------------------


class _TiedSequenceModel(nn.Module):
    """(B, T, C) -> (B, num_classes); ``decode.weight`` is ``encode.weight`` (tied)."""

    def __init__(self, *, num_classes: int = 4, in_features: int = 3) -> None:
        super().__init__()
        self.inp = nn.Linear(in_features, 8)
        self.encode = nn.Linear(8, 8, bias=False)
        self.decode = nn.Linear(8, 8, bias=False)
        self.decode.weight = self.encode.weight
        self.fc = nn.Linear(8, num_classes)
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.decode(torch.tanh(self.encode(self.inp(x)))))
        return self.fc(h.mean(dim=1))


@pytest.fixture
def tied_model_name(monkeypatch):
    name = "tied_sequence_test_tiny"
    info = _registry.ModelInfo(
        name=name,
        builder=lambda **kw: _TiedSequenceModel(**kw),
        task="classification",
        modality="sensor",
        input_size=(5, 3),
        test_input_size=(5, 3),
        description="test only",
    )
    monkeypatch.setitem(_registry._REGISTRY, name, info)
    return name


def test_export_tied_weights_and_sequence_input(tied_model_name, tmp_path):
    _needs("safetensors", "onnx", "onnxscript", "onnxruntime")
    from safetensors import safe_open

    torch.manual_seed(0)
    model = cnnlstm.create_model(tied_model_name, num_classes=2)
    x = torch.randn(1, 5, 3)  # a batch of one: traced as two, still dynamic
    report = export_model(
        model,
        model_name=tied_model_name,
        model_kwargs={"num_classes": 2},
        example_input=x,
        output_dir=tmp_path,
    )
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert config["input_layout"] == "(B, T, C)" and config["input_shape"] == [5, 3]
    assert report["formats"]["safetensors"]["aliased_tensors"] == 1
    assert set(report["formats"]["onnx"]["max_abs_diff_per_batch"]) == {"1", "2"}
    with safe_open(str(tmp_path / WEIGHTS_FILE), framework="pt") as f:
        stored = set(f.keys())
    assert len(stored & {"encode.weight", "decode.weight"}) == 1, "a tied tensor is stored once"

    loaded = load_pretrained(tmp_path)
    assert loaded.decode.weight is loaded.encode.weight
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x))


def test_safetensors_helpers_handle_shared_and_strided_tensors(tmp_path):
    _needs("safetensors")
    base = torch.arange(12.0).reshape(3, 4)
    state = {
        "a": base,
        "a_tied": base,  # the same tensor: stored once, restored as an alias
        "row": base[1],  # a view overlapping "a": copied apart
        "t": torch.randn(4, 3).t(),  # not contiguous
        "slice": torch.randn(10)[2:5],  # a view into a larger storage
        "empty": torch.empty(0),
    }
    assert save_safetensors(state, tmp_path / WEIGHTS_FILE) == 1
    loaded = read_safetensors(tmp_path / WEIGHTS_FILE)
    assert set(loaded) == set(state)
    for name, tensor in state.items():
        torch.testing.assert_close(loaded[name], tensor)


# --- load_pretrained errors ----------------------------------------------------------------------


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_load_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist") as err:
        load_pretrained(tmp_path / "nowhere")
    assert "nowhere" in _one_line(err)


def test_load_missing_weights(weights_dir):
    (weights_dir / WEIGHTS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors.*formats") as err:
        load_pretrained(weights_dir)
    _one_line(err)


def test_load_missing_config(weights_dir):
    (weights_dir / CONFIG_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=r"config\.json") as err:
        load_pretrained(weights_dir)
    _one_line(err)


@pytest.mark.parametrize("field", ["model_name", "model_kwargs", "format_version"])
def test_load_config_missing_field(weights_dir, field):
    _edit_config(weights_dir, **{field: None})
    with pytest.raises(ValueError, match=f"no field '{field}'") as err:
        load_pretrained(weights_dir)
    _one_line(err)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"model_kwargs": [3]}, "field 'model_kwargs' must be"),
        ({"model_name": 7}, "field 'model_name' must be"),
        ({"format_version": 99}, "newer than this cnnlstm reads"),
        ({"model_kwargs": {"num_classes": 3, "no_such_argument": 1}}, "field 'model_kwargs' does not build"),
    ],
)
def test_load_config_invalid_field(weights_dir, changes, match):
    _edit_config(weights_dir, **changes)
    with pytest.raises(ValueError, match=match) as err:
        load_pretrained(weights_dir)
    _one_line(err)


def test_load_malformed_json(weights_dir):
    (weights_dir / CONFIG_FILE).write_text('{"model_name": "lrcn_tiny",')
    with pytest.raises(ValueError, match="not valid JSON") as err:
        load_pretrained(weights_dir)
    _one_line(err)


def test_load_unknown_model_name(weights_dir):
    _edit_config(weights_dir, model_name="lrcn_tinyy")
    with pytest.raises(UnknownModelError, match="lrcn_tiny"):
        load_pretrained(weights_dir)


def test_load_weights_of_another_num_classes(weights_dir, tmp_path):
    model, x = _tiny("lrcn_tiny", num_classes=7)
    other = tmp_path / "seven"
    export_model(
        model,
        model_name="lrcn_tiny",
        model_kwargs={"num_classes": 7},
        example_input=x,
        output_dir=other,
        formats=("safetensors",),
    )
    shutil.copyfile(other / WEIGHTS_FILE, weights_dir / WEIGHTS_FILE)
    with pytest.raises(ValueError, match=r"do not fit 'lrcn_tiny'.*head\.fc") as err:
        load_pretrained(weights_dir)
    _one_line(err)


class _RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (print, ("UNPICKLED: this would have run arbitrary code",))


def _write_pickle(path, how: str) -> None:
    payload = {"head.fc.weight": _RunsCodeWhenUnpickled()}
    if how == "torch.save":
        torch.save(payload, path)
    elif how == "torch.save legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=0))


@pytest.mark.parametrize("how", ["torch.save", "torch.save legacy", "pickle protocol 0"])
def test_load_refuses_a_pickle_posing_as_safetensors(weights_dir, capsys, how):
    weights = weights_dir / WEIGHTS_FILE
    _write_pickle(weights, how)
    capsys.readouterr()
    with pytest.raises(ValueError, match=r"model\.safetensors") as err:
        load_pretrained(weights_dir)
    _one_line(err)
    captured = capsys.readouterr()
    assert captured.out == "" and "UNPICKLED" not in captured.err

    # The payload is live: unpickling the file does run it, so the check above means something.
    # (Under a .pt name: torch 2.13's torch.load reads a *.safetensors path with safetensors.)
    if how.startswith("torch.save"):
        torch.load(shutil.copyfile(weights, weights_dir / "payload.pt"), weights_only=False)
    else:
        pickle.loads(weights.read_bytes())
    assert "UNPICKLED" in capsys.readouterr().out


# --- export_model argument errors (raised before anything is written) ----------------------------


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"num_classes": 3, "activation": nn.ReLU}, "activation"),
        ({"num_classes": 3, "dropout": float("nan")}, "dropout"),
        ({"num_classes": 3, "frame_size": {1, 2}}, "frame_size"),
    ],
)
def test_export_rejects_non_serialisable_kwargs(tmp_path, kwargs, key):
    model, x = _tiny("lrcn_tiny")
    with pytest.raises(ValueError, match=f"model_kwargs\\['{key}'\\].*not JSON-serialisable"):
        export_model(
            model, model_name="lrcn_tiny", model_kwargs=kwargs, example_input=x, output_dir=tmp_path / "o"
        )
    assert not (tmp_path / "o").exists()


def test_export_rejects_kwargs_that_do_not_rebuild_the_model(tmp_path):
    model, x = _tiny("lrcn_tiny", num_classes=3)
    out = tmp_path / "o"
    with pytest.raises(ValueError, match="do not rebuild this model.*head.fc"):
        export_model(model, model_name="lrcn_tiny", model_kwargs={}, example_input=x, output_dir=out)
    with pytest.raises(UnknownModelError):
        export_model(model, model_name="no_such_model", model_kwargs={}, example_input=x, output_dir=out)
    assert not (tmp_path / "o").exists()


def test_export_rejects_unknown_format(tmp_path):
    model, x = _tiny("lrcn_tiny")
    with pytest.raises(ValueError, match="formats must be"):
        export_model(
            model,
            model_name="lrcn_tiny",
            model_kwargs={"num_classes": 3},
            example_input=x,
            output_dir=tmp_path,
            formats=("tflite",),
        )


def test_missing_optional_dependency_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # makes `import onnxscript` fail
    model, x = _tiny("lrcn_tiny")
    with pytest.raises(ImportError, match=r"needs the '\w+' package: pip install 'cnnlstm\[export\]'"):
        export_model(
            model,
            model_name="lrcn_tiny",
            model_kwargs={"num_classes": 3},
            example_input=x,
            output_dir=tmp_path / "o",
            formats=("onnx",),
        )
    assert not (tmp_path / "o").exists()


def test_compare_names_the_format_and_the_difference():
    want = {2: torch.zeros(2, 3)}
    assert compare_outputs("onnx", {2: torch.full((2, 3), 1e-6)}, want, 1e-4)[
        "max_abs_diff"
    ] == pytest.approx(1e-6)
    too_far = r"onnx: max abs difference from eager is 0\.01 .*0\.0001"
    with pytest.raises(ExportVerificationError, match=too_far):
        compare_outputs("onnx", {2: torch.full((2, 3), 0.01)}, want, 1e-4)
    with pytest.raises(ExportVerificationError, match="torch_export.*nan"):
        compare_outputs("torch_export", {2: torch.full((2, 3), float("nan"))}, want, 1e-4)
