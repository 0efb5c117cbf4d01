"""A job on the page: live status and the sections written so far, then its report and downloads."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from research.config import ConfigError
from research.inputs import WorkflowKind
from research.jobs.service import JobSnapshot, JobStatus, StepState
from research.reports import markdown as md
from research.reports.exports import EXPORTS, download_name
from research.reports.market import report_head, run_details
from research.reports.sections import market_sections
from research.reports.views import being_written, duration_label
from ui import batch_view, report_view, runtime, status

POLL_SECONDS = 0.5
RESUMED_NOTE = ("Resumed after a restart: the steps that had finished were kept; "
                "any that were running when the server stopped are run again.")
_OUTCOME = {
    JobStatus.COMPLETE: ("complete", "Report ready"),
    JobStatus.PARTIAL: ("complete", "Partial report ready"),
    JobStatus.CANCELLED: ("error", "Cancelled"),
    JobStatus.FAILED: ("error", "No report"),
    JobStatus.INTERRUPTED: ("error", "Interrupted"),
}


def _progress(snapshot: JobSnapshot) -> None:
    """The steps' status, and the text being written."""
    if snapshot.kind is WorkflowKind.COMPANIES:
        batch_view.status_grid(snapshot)
    else:
        status.agent_cards(snapshot)
    status.writing_preview(*being_written(snapshot.kind, snapshot.streamed))


@st.fragment(run_every=POLL_SECONDS)
def live(job_id: str) -> None:
    """Redraw the running job twice a second, with each section as soon as it is written; rerun at the end."""
    snapshot = runtime.jobs().snapshot(job_id)
    if snapshot is None or snapshot.finished:
        st.rerun()
    box = st.status(f"Researching “{md.inline(snapshot.title)}”…", state="running", expanded=True)
    with box.container():  # not `with box:`, whose exit would mark the job complete
        if snapshot.resumed:
            st.info(RESUMED_NOTE, icon=":material/restart_alt:")
        _progress(snapshot)
        if st.button("Cancel", key=f"cancel-{job_id}", icon=":material/stop_circle:"):
            runtime.jobs().cancel(job_id)
    if snapshot.kind is WorkflowKind.MARKET:
        report_view.sections(market_sections(snapshot.partial, snapshot.problems), f"live-{job_id}", only_ready=True)


def downloads(snapshot: JobSnapshot) -> None:
    """A download button per export of the job's workflow."""
    row = st.container(horizontal=True)
    for number, item in enumerate(EXPORTS[snapshot.kind]):
        row.download_button(item.label, data=lambda item=item: item.render(snapshot.result),  # built when clicked
                            mime=item.mime, on_click="ignore",
                            file_name=download_name(snapshot.kind, snapshot.title, item.extension),
                            key=f"{item.extension}-{snapshot.id}", icon=":material/download:",
                            type="primary" if number == 0 else "secondary")


OLDER_RELEASE = ("Saved by an earlier release, which kept only this job's title, not its company list: "
                 "start it again from the form.")


def _open(start: Callable[[], str | None]) -> None:
    """Open the job ``start`` begins (a button's callback), or say why none began."""
    try:
        job_id = start()
    except ConfigError as exc:
        st.toast(f"Configuration problem: {exc}", icon=":material/settings:")
        return
    if job_id is not None:
        st.query_params["job"] = job_id


def run_again_buttons(snapshot: JobSnapshot) -> None:
    """Run the job again with this session's settings, or retry only what failed (keeping what succeeded)."""
    if snapshot.request is None:
        st.caption(OLDER_RELEASE)
        return
    settings = runtime.session_settings(runtime.settings_or_stop())
    failed = [s for s in snapshot.steps if s.state.finished and s.state is not StepState.DONE]
    row = st.container(horizontal=True)
    row.button("Run again", key=f"again-{snapshot.id}", icon=":material/replay:", type="tertiary",
               on_click=_open, args=(lambda: runtime.jobs().run_again(snapshot.id, settings),))
    if snapshot.result is not None and failed and snapshot.status is not JobStatus.COMPLETE:
        row.button(f"Retry failed parts ({len(failed)})", key=f"retry-{snapshot.id}", icon=":material/build:",
                   type="tertiary", help="Runs only the steps that failed or did not finish; keeps the rest",
                   on_click=_open, args=(lambda: runtime.jobs().retry_failed(snapshot.id, settings),))


def finished(snapshot: JobSnapshot) -> None:
    """The status summary, downloads and report of a job that has ended."""
    state, label = _OUTCOME.get(snapshot.status, ("error", snapshot.status.value))
    result = snapshot.result
    if result is not None:
        label += f" in {duration_label(result.elapsed)} · {result.usage_facts}"
    with st.status(f"{label} — “{md.inline(snapshot.title)}”", state=state, expanded=result is None):
        if snapshot.steps:
            _progress(snapshot)
        if snapshot.error:
            st.error(snapshot.error)
    if snapshot.resumed:
        st.caption(":material/restart_alt: Resumed after a restart: finished steps were kept, not repeated.")
    run_again_buttons(snapshot)
    if result is None:
        return
    if result.status is JobStatus.FAILED:
        st.error(f"No report: {result.error}")
        return
    downloads(snapshot)
    if snapshot.kind is WorkflowKind.COMPANIES:
        batch_view.report(result, snapshot.id)
    else:  # the same title, notices and run details as the downloaded report
        st.markdown("\n\n".join(report_head(result)))
        report = market_sections(snapshot.partial, snapshot.problems)
        report_view.headline_metrics(result)
        report_view.jump_links(report)
        report_view.sections(report, snapshot.id)
        st.markdown(run_details(result))


def show(job_id: str) -> None:
    """Show the job named in the URL, running or finished."""
    snapshot = runtime.jobs().snapshot(job_id)
    if snapshot is None:
        st.error("There is no report at this link. It may have been deleted — see History.")
        return
    if snapshot.finished:
        finished(snapshot)
    else:
        live(job_id)
