"""A job on the page: live status while it runs, then its report (market or company batch)."""

from __future__ import annotations

import streamlit as st

from research.core.runs import RunStatus
from research.jobs import JobSnapshot
from research.reports import markdown as md
from ui import batch_view, report_view, runtime, status

POLL_SECONDS = 0.5
_OUTCOME = {
    RunStatus.COMPLETE.value: ("complete", "Report ready"),
    RunStatus.PARTIAL.value: ("complete", "Partial report ready"),
    RunStatus.CANCELLED.value: ("error", "Cancelled"),
    RunStatus.FAILED.value: ("error", "No report"),
    "interrupted": ("error", "Interrupted"),
}


def _progress(snapshot: JobSnapshot) -> None:
    if snapshot.kind == "companies":
        batch_view.status_grid(snapshot)
    else:
        status.agent_cards(snapshot)
    status.synthesis_preview(snapshot.synthesis_text)


@st.fragment(run_every=POLL_SECONDS)
def live(job_id: str) -> None:
    """Redraw the running job twice a second; hand over to a full rerun when it ends."""
    snapshot = runtime.runner().snapshot(job_id)
    if snapshot is None or snapshot.finished:
        st.rerun()
    box = st.status(f"Researching “{md.inline(snapshot.topic)}”…", state="running", expanded=True)
    with box.container():  # not `with box:`, whose exit would mark the job complete
        _progress(snapshot)
        if st.button("Cancel", key=f"cancel-{job_id}", icon=":material/stop_circle:"):
            runtime.runner().cancel(job_id)


def finished(snapshot: JobSnapshot) -> None:
    """The status summary, downloads and report of a job that has ended."""
    state, label = _OUTCOME.get(snapshot.status, ("error", snapshot.status))
    result = snapshot.result
    if result is not None:
        label += f" in {result.elapsed:.1f} s · {result.usage.total_tokens:,} tokens"
    with st.status(f"{label} — “{md.inline(snapshot.topic)}”", state=state, expanded=result is None):
        if snapshot.agents:
            _progress(snapshot)
        if snapshot.error:
            st.error(snapshot.error)
    if result is None:
        return
    if result.status is RunStatus.FAILED:
        st.error(f"No report: {result.error}")
    elif snapshot.kind == "companies":
        batch_view.downloads(result, snapshot.id)
        batch_view.report(result, snapshot.id)
    else:
        report_view.downloads(result, snapshot.id)
        report_view.report(result, snapshot.id)


def show(job_id: str) -> None:
    """Show the job named in the URL, running or finished."""
    snapshot = runtime.runner().snapshot(job_id)
    if snapshot is None:
        st.error("There is no report at this link. It may have been deleted — see History.")
        return
    if snapshot.finished:
        finished(snapshot)
    else:
        live(job_id)
