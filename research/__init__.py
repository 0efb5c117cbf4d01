"""The market-research engine: agents, executor, workflows, providers and rendering.

It never imports Streamlit; every front end (CLI, web app, tests) uses the
same functions and the same status-event stream.
"""
