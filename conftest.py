"""Collection settings for the whole repository (tests/ and the doctests under src/)."""

from pathlib import Path

# Modules kept at their old paths for one release: importing one warns (DeprecationWarning), and
# they have no examples of their own. tests/test_deprecated_paths.py imports each under
# pytest.warns; doctest collection skips them so that it does not import them bare.
_SRC = Path(__file__).parent / "src" / "cnnlstm"
collect_ignore = [
    str(_SRC / name)
    for name in (
        "callbacks.py",
        "checkpoint_io.py",
        "demo.py",
        "export.py",
        "export_step.py",
        "loggers.py",
        "plots.py",
        "predict.py",
        "data/video_index.py",
        "nn/_checks.py",
    )
]

# Doctest examples that export to ONNX take several seconds each: slow, like the tests that do.
_SLOW_DOCTEST_MODULES = ("cnnlstm.deploy.export", "cnnlstm.deploy.step", "cnnlstm.deploy.translation")


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        if item.__class__.__name__ == "DoctestItem" and item.name.startswith(_SLOW_DOCTEST_MODULES):
            item.add_marker(pytest.mark.slow)
