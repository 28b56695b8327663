"""The registry: names, wildcards, deprecated aliases, the streams flag, errors, None-dropping, weights.

The properties every registered model has are tested in test_registry_suite.py.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import cnnlstm
from cnnlstm.models import (
    LRCN,
    Conv3dLSTMClassifier,
    UnknownModelError,
    create_model,
    list_models,
    model_info,
    register_deprecated_alias,
    register_model,
    shape_kwargs_for,
)
from cnnlstm.models._registry import _ALIASES, _REGISTRY


def test_list_models_wildcards_and_excludes():
    assert list_models("lrcn*") == ["lrcn", "lrcn_tiny"]
    assert "lrcn" not in list_models(exclude="lrcn")
    assert all(n.endswith("_tiny") for n in list_models("*_tiny"))
    assert list_models(["lrcn", "conv3d_*"]) == ["conv3d_lstm", "conv3d_lstm_tiny", "lrcn"]
    forecasters = [n for n in list_models() if model_info(n).task == "forecasting"]
    assert list_models(task="forecasting") == forecasters
    assert list_models(streams=False) == [n for n in list_models() if not model_info(n).streams]
    assert cnnlstm.list_models() == list_models()


def test_the_core_models_are_registered():
    assert {
        "conv3d_lstm",
        "lrcn",
        "convlstm_classifier",
        "frame_mean",
        "deepconvlstm",
        "lstm_fcn",
        "convlstm_forecaster",
    } <= set(list_models())


@pytest.mark.parametrize(
    "old, new", [("seed_conv3d_lstm", "conv3d_lstm"), ("seed_conv3d_lstm_tiny", "conv3d_lstm_tiny")]
)
def test_a_deprecated_alias_builds_its_model_with_a_future_warning(old, new):
    with pytest.warns(FutureWarning, match=f"model name '{old}' is deprecated.*use '{new}'") as record:
        model = create_model(old, num_classes=3)
    assert len(record) == 1 and record[0].filename == __file__  # one warning, pointing at the caller
    assert isinstance(model, Conv3dLSTMClassifier)
    torch.manual_seed(0)
    expected = create_model(new, num_classes=3).state_dict()
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in expected.items()}
    with pytest.warns(FutureWarning):
        assert model_info(old) is model_info(new)
    with pytest.warns(FutureWarning):
        assert shape_kwargs_for(old, [8, 3, 48, 64]) == {"in_channels": 3, "frame_size": [48, 64]}
    assert old not in list_models() and old not in list_models("seed_*")
    assert old in list_models("seed_*", include_deprecated=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the current name does not warn
        create_model(new)


def test_aliases_cannot_shadow_or_dangle():
    with pytest.raises(ValueError, match="'lrcn' is already registered"):
        register_deprecated_alias("lrcn", "lrcn_tiny")
    with pytest.raises(ValueError, match="names model 'no_such_model', which is not registered"):
        register_deprecated_alias("old_name", "no_such_model")
    with pytest.raises(ValueError, match="'seed_conv3d_lstm' is already registered"):

        @register_model(task="classification", modality="video", input_size=(1,))
        def seed_conv3d_lstm(**kwargs):
            return torch.nn.Identity()

    assert "old_name" not in _ALIASES


def test_the_streams_flag_is_checked_against_the_model():
    with pytest.raises(
        ValueError,
        match=r"'_test_only_lrcn' is registered with streams=False but LRCN has "
        r"init_state/step; register it with streams=True",
    ):

        @register_model(task="classification", modality="video", input_size=(6, 3, 32, 32))
        def _test_only_lrcn(**kwargs) -> LRCN:
            return LRCN(**kwargs)

    @register_model(task="classification", modality="sensor", input_size=(4, 2), streams=True)
    def _test_only_unannotated(**kwargs):  # no annotation: checked when built
        return torch.nn.Linear(2, 3)

    try:
        with pytest.raises(TypeError, match="registered with streams=True but Linear has no init_state/step"):
            create_model("_test_only_unannotated")
    finally:
        del _REGISTRY["_test_only_unannotated"]
    assert "_test_only_lrcn" not in _REGISTRY


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
    with pytest.raises(
        ValueError, match=r"could not read weights .*garbage\.pt.*not a torch\.save file or is corrupt"
    ):
        create_model("lrcn_tiny", checkpoint_path=garbage)


def test_checkpoint_with_pickled_code_is_refused(tmp_path):
    """weights_only loading: a file that would run code on unpickling is rejected, not executed."""
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "payload": _Payload()}, path)
    with pytest.raises(ValueError, match=r"could not read weights .*refusing to load .*evil\.pt.*\(print\)"):
        create_model("lrcn_tiny", checkpoint_path=path)


def test_lightning_style_checkpoint_is_accepted(tmp_path):
    model = create_model("lrcn_tiny", num_classes=3)
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, path)
    loaded = create_model("lrcn_tiny", num_classes=3, checkpoint_path=path)
    for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


class _Payload:
    def __reduce__(self):
        return (print, ("unpickled code ran",))


def test_shape_kwargs_follow_the_data_and_never_override_explicit_ones():
    from cnnlstm.tasks.base import build_kwargs

    assert shape_kwargs_for("deepconvlstm", [100, 6]) == {"in_channels": 6}
    assert shape_kwargs_for("lstm_fcn", [29, 12]) == {"in_channels": 12, "seq_len": 29}
    assert shape_kwargs_for("conv3d_lstm", [16, 3, 48, 64]) == {"in_channels": 3, "frame_size": [48, 64]}
    assert shape_kwargs_for("lrcn", None) == {}
    kwargs = build_kwargs({"in_channels": 4}, 5, name="deepconvlstm", input_shape=[100, 6])
    assert kwargs == {"in_channels": 4, "num_classes": 5}
    with pytest.raises(ValueError, match=r"reads frame_size from dimension \(2, 3\).*\[100, 6\]"):
        shape_kwargs_for("conv3d_lstm", [100, 6])
