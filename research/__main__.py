"""Entry point for ``python -m research``."""

import sys

from research.cli import main

sys.exit(main())
