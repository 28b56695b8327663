"""``python -m cnnlstm`` is the ``cnnlstm`` command."""

from cnnlstm.cli import main

raise SystemExit(main())
