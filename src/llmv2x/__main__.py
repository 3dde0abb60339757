"""``python -m llmv2x``: the ``llmv2x`` command."""

import sys

from llmv2x.cli import main

sys.exit(main())
