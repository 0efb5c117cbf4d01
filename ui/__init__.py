"""Streamlit views for the app: they read engine state and draw it, nothing more.

From ``research`` they import only the job service (:mod:`research.jobs.service`), the reports
(:mod:`research.reports`), the inputs and the settings; ``tests/test_ui_imports.py`` checks it.
"""
