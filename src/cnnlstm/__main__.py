"""``python -m cnnlstm`` runs the demo until the training command lands."""

from cnnlstm.demo import main

raise SystemExit(main())
