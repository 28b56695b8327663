"""The registry: names, wildcards, errors, None-dropping, weight loading."""

from __future__ import annotations

import pytest
import torch

import cnnlstm
from cnnlstm.models import UnknownModelError, create_model, list_models, model_info, register_model
from cnnlstm.models._registry import _REGISTRY


def test_list_models_wildcards_and_excludes():
    assert list_models("lrcn*") == ["lrcn", "lrcn_tiny"]
    assert "lrcn" not in list_models(exclude="lrcn")
    assert all(n.endswith("_tiny") for n in list_models("*_tiny"))
    assert list_models(["lrcn", "seed_*"]) == ["lrcn", "seed_conv3d_lstm", "seed_conv3d_lstm_tiny"]
    assert list_models(task="forecasting") == [n for n in list_models() if model_info(n).task == "forecasting"]
    assert cnnlstm.list_models() == list_models()


def test_unknown_name_lists_the_closest_names():
    with pytest.raises(UnknownModelError, match=r"unknown model 'lrnc'; did you mean lrcn") as err:
        create_model("lrnc")
    assert isinstance(err.value, ValueError)
    with pytest.raises(UnknownModelError, match=r"convlstm_classifier"):
        create_model("convlstm_clasifier")


def test_duplicate_registration_is_an_error():
    with pytest.raises(ValueError, match="already registered"):

        @register_model(task="classification", modality="video", input_size=(1,))
        def lrcn(**kwargs):  # noqa: F811 - the clash is the point
            return torch.nn.Identity()


def test_register_and_remove_a_model():
    @register_model(task="classification", modality="sensor", input_size=(4, 2))
    def _test_only_linear(**kwargs):
        """A model only this test registers."""
        return torch.nn.Linear(2, kwargs.get("num_classes", 3))

    try:
        assert "_test_only_linear" in list_models()
        assert model_info("_test_only_linear").description == "A model only this test registers."
        assert create_model("_test_only_linear", num_classes=5).out_features == 5
    finally:
        del _REGISTRY["_test_only_linear"]


def test_none_keyword_arguments_are_dropped():
    # A CLI forwarding an unset option must not override the model's default.
    model = create_model("lrcn_tiny", num_classes=None, lstm_hidden=None)
    assert model.num_classes == 10 and model.lstm.hidden_size == 32


def test_bad_task_in_registration():
    with pytest.raises(ValueError, match="task='segmentation'"):
        register_model(task="segmentation", modality="video", input_size=(1,))


def test_checkpoint_loading_errors(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        create_model("lrcn_tiny", checkpoint_path=missing)
    wrong = tmp_path / "wrong.pt"
    torch.save(create_model("lrcn_tiny", num_classes=3).state_dict(), wrong)
    with pytest.raises(ValueError, match="do not fit LRCN"):
        create_model("lrcn_tiny", num_classes=5, checkpoint_path=wrong)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="could not read weights"):
        create_model("lrcn_tiny", checkpoint_path=garbage)


def test_checkpoint_with_pickled_code_is_refused(tmp_path):
    """weights_only loading: a file that would run code on unpickling is rejected, not executed."""
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "payload": _Payload()}, path)
    with pytest.raises(ValueError, match="could not read weights"):
        create_model("lrcn_tiny", checkpoint_path=path)


def test_lightning_style_checkpoint_is_accepted(tmp_path):
    model = create_model("lrcn_tiny", num_classes=3)
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, path)
    loaded = create_model("lrcn_tiny", num_classes=3, checkpoint_path=path)
    for a, b in zip(loaded.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)


class _Payload:
    def __reduce__(self):
        return (print, ("unpickled code ran",))


def test_shape_kwargs_follow_the_data_and_never_override_explicit_ones():
    from cnnlstm.models import shape_kwargs_for
    from cnnlstm.tasks.base import build_kwargs

    assert shape_kwargs_for("deepconvlstm", [100, 6]) == {"in_channels": 6}
    assert shape_kwargs_for("lstm_fcn", [29, 12]) == {"in_channels": 12, "seq_len": 29}
    assert shape_kwargs_for("seed_conv3d_lstm", [16, 3, 48, 64]) == {"in_channels": 3, "frame_size": [48, 64]}
    assert shape_kwargs_for("lrcn", None) == {}
    kwargs = build_kwargs({"in_channels": 4}, 5, name="deepconvlstm", input_shape=[100, 6])
    assert kwargs == {"in_channels": 4, "num_classes": 5}
    with pytest.raises(ValueError, match=r"reads frame_size from dimension \(2, 3\).*\[100, 6\]"):
        shape_kwargs_for("seed_conv3d_lstm", [100, 6])


@pytest.mark.parametrize("name", list_models(task="classification"))
def test_every_model_builds_from_its_input_shape_alone(name):
    from cnnlstm.models import shape_kwargs_for

    info = model_info(name)
    model = create_model(name, num_classes=3, **shape_kwargs_for(name, info.test_input_size)).eval()
    with torch.no_grad():
        assert model(torch.randn(2, *info.test_input_size)).shape == (2, 3)
