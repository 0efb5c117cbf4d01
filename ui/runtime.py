"""Process-wide objects shared by every session: settings and the job service (which keeps the history)."""

from __future__ import annotations

import streamlit as st

from research.config import ConfigError, Settings, load_settings
from research.jobs.service import JobService
from research.owners import Access
from ui import auth

SESSION_KEY = "session_api_key"
"""The *Run options* box where a key is pasted (its widget state: gone when a run does not draw the box)."""
KEPT_KEY = "session_api_key_kept"
"""Where the pasted key is kept for this browser session while the form is folded away (never saved)."""


def keep_session_key() -> None:
    """Call first in every run: keep the pasted key across runs that do not draw the *Run options* box (a report
    shown instead of the form), and put it back in the box when it is drawn again."""
    if SESSION_KEY in st.session_state:
        st.session_state[KEPT_KEY] = st.session_state[SESSION_KEY]
    elif KEPT_KEY in st.session_state:
        st.session_state[SESSION_KEY] = st.session_state[KEPT_KEY]


def session_key() -> str:
    """This session's pasted API key, or ""."""
    return (st.session_state.get(SESSION_KEY) or st.session_state.get(KEPT_KEY) or "").strip()


def session_settings(settings: Settings) -> Settings:
    """The settings with this session's pasted API key, if any (it is never saved, logged or shown)."""
    session_key = (st.session_state.get(SESSION_KEY) or st.session_state.get(KEPT_KEY) or "").strip()
    return settings.with_changes(api_key=session_key, demo=False) if session_key else settings


def settings_or_stop() -> Settings:
    """The settings from the environment and `.env`, or an error message and a stop."""
    try:
        return load_settings()
    except ConfigError as exc:
        st.error(f"Configuration problem: {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


def access() -> Access:
    """What this session's person may do with jobs: their own (everything, without sign-in), everyone's to
    read in a shared history (``RESEARCH_SHARED_HISTORY``), any to delete for an admin (``RESEARCH_ADMINS``)."""
    settings = settings_or_stop()
    return Access.of(auth.owner(), shared=settings.shared_history, admins=settings.admins)


def whose(owner: str, owner_name: str | None) -> str:
    """Who started a job, as this session's person reads it: "you", their name (or e-mail), or "another person"."""
    return "you" if access().owns(owner) else owner_name or "another person"


@st.cache_resource(show_spinner=False, on_release=JobService.close)
def jobs() -> JobService:
    """The one job service (and event-loop thread) of this server process, with the history.

    The history is SQLite under ``RESEARCH_DATA_DIR``, or ``RESEARCH_DATABASE_URL``'s Postgres. Its jobs are
    durable: starting the server resumes the jobs it was running when it stopped.
    """
    return JobService.open(settings_or_stop())
