"""Streamlit views for the app: they read engine state and draw it, nothing more.

From ``research`` they import only the job service (:mod:`research.jobs.service`), the reports
(:mod:`research.reports`), the inputs and the settings; ``tests/test_ui_imports.py`` checks it.
"""

# The heavy libraries the pages use are imported here, once, before any page's module. Two sessions that start
# together on a fresh server otherwise import pandas in two threads at once (one through a page, one through
# Streamlit's own lazy import while drawing a table), and Python then hands one of them a partly initialised
# module ("partially initialized module 'pandas' has no attribute 'Series'"). Importing the package `ui` holds
# its lock, so the second session waits here, holding nothing, until these are whole.
import pandas  # noqa: E402, F401
import plotly.graph_objects  # noqa: E402, F401
