"""``python -m cnnlstm`` is the ``cnnlstm`` command."""

from cnnlstm.cli.main import main

raise SystemExit(main())
