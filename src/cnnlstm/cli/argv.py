"""Small helpers over the raw argument list, before Lightning's parser sees it.

Example:
    >>> argv = ["--config", "a.yaml", "--trainer.max_epochs=3"]
    >>> get_option(argv, "--trainer.max_epochs")
    '3'
    >>> set_option(argv, "--trainer.max_epochs", "5")
    ['--config', 'a.yaml', '--trainer.max_epochs=5']
"""

from __future__ import annotations

from pathlib import Path

from cnnlstm.cli.config_guard import check_yaml_config, check_yaml_text
from cnnlstm.cli.presets import preset_path

__all__ = ["get_option", "pop_compile", "pop_flag", "resolve_configs", "set_option", "typed_model_args"]


def pop_flag(argv: list[str], flag: str) -> bool:
    found = flag in argv
    while flag in argv:
        argv.remove(flag)
    return found


def pop_compile(argv: list[str]) -> str | None:
    """Remove ``--compile`` / ``--compile=MODE`` from ``argv``; ``"true"``, the mode, or ``None``."""
    mode = None
    for arg in list(argv):
        if arg == "--compile" or arg.startswith("--compile="):
            argv.remove(arg)
            mode = arg.partition("=")[2] or "true"
    return mode


def get_option(argv: list[str], key: str) -> str | None:
    """The last value given for ``--key`` as ``--key V`` or ``--key=V``."""
    value = None
    for i, arg in enumerate(argv):
        if arg == key and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(key + "="):
            value = arg.split("=", 1)[1]
    return value


def typed_model_args(argv: list[str]) -> frozenset[str]:
    """The model arguments typed as flags (``--model.init_args.X`` or ``--model.X``), by name.

    Example:
        >>> sorted(typed_model_args(["--model.init_args.risk=0.01", "--model.threshold", "quantile"]))
        ['risk', 'threshold']
    """
    names = set()
    for arg in argv:
        key = arg.split("=", 1)[0]
        for prefix in ("--model.init_args.", "--model."):
            if key.startswith(prefix):
                name = key[len(prefix) :]
                if name and "." not in name and name not in ("class_path", "init_args", "dict_kwargs"):
                    names.add(name)
                break
    return frozenset(names)


def set_option(argv: list[str], key: str, value: str) -> list[str]:
    """Replace every ``--key`` occurrence with ``--key=value`` (appended if absent)."""
    out, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == key:
            skip = i + 1 < len(argv)
            continue
        if arg.startswith(key + "="):
            continue
        out.append(arg)
    return out + [f"{key}={value}"]


def resolve_configs(argv: list[str]) -> tuple[list[str], str]:
    """Turn preset names after ``--config`` into file paths; return the run name (first config's stem).

    Each config file, any other YAML file given as a value (``--data data.yaml``) and any value
    with YAML aliases is checked for alias bombs (:mod:`cnnlstm.cli.config_guard`) before any
    parser reads it.
    """
    out, run_name = [], ""
    i = 0
    while i < len(argv):
        arg = argv[i]
        value = None
        if arg == "--config" and i + 1 < len(argv):
            value, i = argv[i + 1], i + 1
        elif arg.startswith("--config="):
            value = arg.split("=", 1)[1]
        if value is not None:
            path = preset_path(value)
            check_yaml_config(path)
            run_name = run_name or path.stem
            out += ["--config", str(path)]
        else:
            _check_yaml_value(arg)
            out.append(arg)
        i += 1
    return out, run_name


def _check_yaml_value(arg: str) -> None:
    flag, _, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
    if value.endswith((".yaml", ".yml")) and Path(value).is_file():
        check_yaml_config(value)
    elif "&" in value and "*" in value:  # inline YAML with anchors and aliases
        check_yaml_text(value, f"value of {flag}" if flag else "value on the command line")
