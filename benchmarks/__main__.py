"""``python -m benchmarks``: run the benchmarks and print Markdown tables."""

import sys

from benchmarks.fanout import main

sys.exit(main())
