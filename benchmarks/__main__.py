"""``python -m benchmarks``: run the benchmarks and print Markdown tables (see :mod:`benchmarks.cli`)."""

import sys

from benchmarks.cli import main

sys.exit(main())
