"""One job per intent: the job service gives back the running job of a request asked for twice."""

from __future__ import annotations

import streamlit as st

from research.config import ConfigError, Settings
from research.inputs import CompanyRequest, MarketRequest
from research.jobs.service import DailyBudgetSpent
from ui import nav, runtime


def start(request: MarketRequest | CompanyRequest, settings: Settings) -> str | None:
    """The job for ``request``: the running one of the same request (a double click, another tab), else a new one.

    None, with the reason on the page, when no model can be selected or the deployment's daily budget is spent.
    """
    try:
        return runtime.jobs().submit(request, settings, owner=runtime.access().owner)
    except ConfigError as exc:
        st.error(f"Configuration problem: {exc}", icon=":material/settings:")
    except DailyBudgetSpent as exc:  # the message names the limit and when it resets
        st.error(str(exc), icon=":material/savings:")
    return None


def show_on_own_page(job_id: str, here: str) -> None:
    """Switch to the page of the job's own workflow when a link opened it on another page."""
    snapshot = runtime.jobs().snapshot(job_id, runtime.access())
    if snapshot is not None and snapshot.kind != here:
        st.switch_page(nav.page_for(snapshot.kind), query_params={"job": job_id})
