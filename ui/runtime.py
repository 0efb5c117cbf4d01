"""Process-wide objects shared by every session: settings and the job service (which keeps the history)."""

from __future__ import annotations

import streamlit as st

from research.config import ConfigError, Settings, load_settings
from research.jobs.service import JobService

SESSION_KEY = "session_api_key"
"""Where a key pasted in *Run options* lives: this browser session only."""


def session_settings(settings: Settings) -> Settings:
    """The settings with this session's pasted API key, if any (it is never saved, logged or shown)."""
    session_key = (st.session_state.get(SESSION_KEY) or "").strip()
    return settings.with_changes(api_key=session_key, demo=False) if session_key else settings


def settings_or_stop() -> Settings:
    """The settings from the environment and `.env`, or an error message and a stop."""
    try:
        return load_settings()
    except ConfigError as exc:
        st.error(f"Configuration problem: {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


@st.cache_resource(show_spinner=False, on_release=JobService.close)
def jobs() -> JobService:
    """The one job service (and event-loop thread) of this server process, with the history.

    The history is SQLite under ``RESEARCH_DATA_DIR``, or ``RESEARCH_DATABASE_URL``'s Postgres. Its jobs are
    durable: starting the server resumes the jobs it was running when it stopped.
    """
    return JobService.open(settings_or_stop())
