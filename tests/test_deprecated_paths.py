"""The module paths of the previous release still import for one release, warn, and give the
same objects as the new paths."""

import importlib
import sys

import pytest

MOVED = {
    "cnnlstm.export": ("cnnlstm.deploy.export", ["export_model"]),
    "cnnlstm.export_step": ("cnnlstm.deploy.step", ["export_step"]),
    "cnnlstm.predict": ("cnnlstm.deploy.stream", ["Stream"]),
    "cnnlstm.callbacks": ("cnnlstm.training.callbacks", ["RunArtifacts", "PredictionWriter"]),
    "cnnlstm.loggers": ("cnnlstm.training.loggers", ["ResumableCSVLogger"]),
    "cnnlstm.checkpoint_io": ("cnnlstm.training.checkpoint_io", ["SafeCheckpointIO", "safe_torch_load"]),
    "cnnlstm.plots": ("cnnlstm.training.plots", ["plot_curves", "plot_confusion_matrix"]),
    "cnnlstm.demo": ("cnnlstm.cli.demo", ["main", "DEMO_RUNS"]),
    "cnnlstm.nn._checks": ("cnnlstm._validation", ["check_positive_int", "to_tuple"]),
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_path_warns_and_reexports_the_same_objects(old):
    new, names = MOVED[old]
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    target = importlib.import_module(new)
    for name in names:
        assert getattr(module, name) is getattr(target, name)


def test_old_export_path_keeps_load_pretrained():
    sys.modules.pop("cnnlstm.export", None)
    with pytest.warns(DeprecationWarning):
        from cnnlstm.export import load_pretrained
    from cnnlstm.deploy import load_pretrained as new

    assert load_pretrained is new
