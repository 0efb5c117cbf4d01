"""Benchmarks of the research engine and the web app (``python -m benchmarks``); they print figures."""
