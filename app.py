"""Market-research studio: enter a topic, watch three agents research it, read the report.

Run with ``make run`` (``streamlit run app.py``). This file only draws the app's frame
(:mod:`ui.shell`: page setup, sign-in, navigation, sidebar) around the page the address
names; the pages draw engine state from ``research`` via ``ui``.
"""

from __future__ import annotations

from ui import shell

shell.run()
