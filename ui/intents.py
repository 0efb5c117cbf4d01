"""One job per intent: a request this session already has running is reattached, never started twice."""

from __future__ import annotations

import streamlit as st

from research.config import Settings
from research.inputs import CompanyRequest, MarketRequest
from ui import nav, runtime

_RUNNING = "running_jobs"


def _intent(request: MarketRequest | CompanyRequest) -> str:
    return f"{request.kind}:{request.title.casefold()}:{getattr(request, 'names', '')}"


def start(request: MarketRequest | CompanyRequest, settings: Settings) -> str:
    """The job for ``request``: this session's identical one while it still runs, else a new one."""
    running: dict[str, str] = st.session_state.setdefault(_RUNNING, {})
    job_id = running.get(_intent(request))
    if job_id is not None:
        snapshot = runtime.runner().snapshot(job_id)
        if snapshot is not None and not snapshot.finished:
            return job_id
    job_id = runtime.runner().submit(request, settings)
    running[_intent(request)] = job_id
    return job_id


def show_on_own_page(job_id: str, here: str) -> None:
    """Switch to the page of the job's own workflow when a link opened it on another page."""
    snapshot = runtime.runner().snapshot(job_id)
    if snapshot is not None and snapshot.kind != here:
        st.switch_page(nav.page_for(snapshot.kind), query_params={"job": job_id})
