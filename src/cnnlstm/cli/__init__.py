"""The ``cnnlstm`` command (``cnnlstm = cnnlstm.cli:main``, also ``python -m cnnlstm``).

Modules, each with one job:

* :mod:`~cnnlstm.cli.main` — the entry point and the table of commands;
* :mod:`~cnnlstm.cli.lightning_cli` — fit / validate / test / predict and ``data check`` over
  Lightning's CLI (:class:`CnnLstmCLI`, :func:`run_lightning`);
* :mod:`~cnnlstm.cli.run_folders` — where a run writes, and ``--ckpt_path last|best``;
* :mod:`~cnnlstm.cli.presets` — the YAML presets shipped in the package, chosen by name;
* :mod:`~cnnlstm.cli.argv` — small helpers over the raw argument list;
* :mod:`~cnnlstm.cli.commands` — ``presets``, ``models``, ``export`` and ``data check``;
* :mod:`~cnnlstm.cli.errors` — :class:`CLIError` and the one-line error text;
* :mod:`~cnnlstm.cli.demo` — ``cnnlstm demo``, built on :func:`run_lightning`.
"""

from cnnlstm.cli.errors import CLIError
from cnnlstm.cli.main import main
from cnnlstm.cli.presets import PRESET_DIR, list_presets, preset_path

__all__ = ["PRESET_DIR", "CLIError", "list_presets", "main", "preset_path"]
