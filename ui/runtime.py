"""Process-wide objects shared by every session: settings, the job runner, the store."""

from __future__ import annotations

import streamlit as st

from research.config import ConfigError, Settings, load_settings
from research.jobs import JobRunner
from research.logs import route_library_logs
from research.store import ReportStore


def settings_or_stop() -> Settings:
    """The settings from the environment and `.env`, or an error message and a stop."""
    try:
        return load_settings()
    except ConfigError as exc:
        st.error(f"Configuration problem: {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


@st.cache_resource(show_spinner=False)
def store() -> ReportStore:
    """The history store under ``RESEARCH_DATA_DIR``."""
    return ReportStore(settings_or_stop().data_dir)


@st.cache_resource(show_spinner=False, on_release=JobRunner.close)
def runner() -> JobRunner:
    """The one background job runner (and event-loop thread) of this server process."""
    route_library_logs(settings_or_stop().data_dir)
    return JobRunner(store())
