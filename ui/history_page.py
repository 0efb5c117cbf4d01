"""The history page: every saved job, newest first, searchable and filterable; open, download, run again, delete."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from research.config import ConfigError
from research.inputs import WorkflowKind
from research.jobs.service import JobStatus, StoredJob
from research.reports import markdown as md
from research.reports.exports import EXPORTS, Export, download_name
from research.reports.views import workflow_label
from ui import nav, runtime

LIMIT = 200
# The column headers and their relative widths: the header row and every job row share them.
COLUMNS = (("Report", 3.8), ("Started", 1.6), ("Status", 1.6), ("Duration", 1.3))
CONFIRM = "history-confirm-delete"  # session key: the id of the job whose "Delete?" question is showing


def _rendered(job_id: str, item: Export) -> str:
    """A finished job's result in one export format, made only when the download is clicked."""
    snapshot = runtime.jobs().snapshot(job_id)
    if snapshot is None or snapshot.result is None:
        return ""
    return item.render(snapshot.result)


def _ask_delete(job_id: str) -> None:
    st.session_state[CONFIRM] = job_id


def _cancel_delete() -> None:
    st.session_state.pop(CONFIRM, None)


def _delete(job_id: str) -> None:
    runtime.jobs().delete(job_id)
    st.session_state.pop(CONFIRM, None)


def _run_again(job: StoredJob) -> None:
    """Start the job's request again with this session's settings, and open the new job's page."""
    try:
        new_id = runtime.jobs().run_again(job.id, runtime.session_settings(runtime.settings_or_stop()))
    except ConfigError as exc:
        st.toast(f"Configuration problem: {exc}", icon=":material/settings:")
        return
    if new_id is None:
        st.toast("This job cannot be run again: it is no longer in the history, or an earlier release saved it "
                 "without its request.", icon=":material/error:")
        return
    st.switch_page(nav.page_for(job.kind), query_params={"job": new_id})


def duration_text(job: StoredJob) -> str:
    """The job's duration as the report's status line writes it (e.g. "2.5 s"), or a dash while it runs."""
    return f"{job.duration:.1f} s" if job.duration is not None else "—"


def filters() -> tuple[str, list[JobStatus], list[WorkflowKind]]:
    """The search box and the status and workflow filters; their current values."""
    search, status, workflow = st.columns([3, 2, 2], vertical_alignment="bottom")
    text = search.text_input("Search topics", key="history-search", placeholder="e.g. dairy",
                             help="Shows the reports whose topic contains this text (case does not matter).")
    statuses = status.multiselect("Status", list(JobStatus), key="history-status", placeholder="Any status",
                                  format_func=lambda s: s.value.capitalize())
    kinds = workflow.multiselect("Workflow", list(WorkflowKind), key="history-workflow", placeholder="Any workflow",
                                 format_func=workflow_label)
    return text, statuses, kinds


def header() -> None:
    """The column headers."""
    with st.container(border=True, key="history-header"):
        for column, (label, _) in zip(st.columns([w for _, w in COLUMNS], vertical_alignment="center"), COLUMNS):
            column.markdown(f"**{label}**")


def actions(job: StoredJob) -> None:
    """Open, download (every format of the job's workflow), run again and delete, or the delete question."""
    if st.session_state.get(CONFIRM) == job.id:
        with st.container(horizontal=True, vertical_alignment="center", key=f"confirm-{job.id}"):
            st.markdown("Delete?")
            st.button("Yes", key=f"del-yes-{job.id}", on_click=_delete, args=(job.id,), type="primary")
            st.button("No", key=f"del-no-{job.id}", on_click=_cancel_delete)
        return
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.page_link(nav.page_for(job.kind), label="Open", icon=":material/description:", query_params={"job": job.id})
        if job.status.has_report:
            with st.popover("Download", icon=":material/download:", type="tertiary",
                            help="Download the report in every format"):
                for item in EXPORTS[job.kind]:
                    st.download_button(item.label, data=lambda item=item, job_id=job.id: _rendered(job_id, item),
                                       key=f"dl-{item.extension}-{job.id}", mime=item.mime, on_click="ignore",
                                       file_name=download_name(job.kind, job.topic, item.extension),
                                       icon=":material/download:", width="stretch")
        if job.status.finished:
            if st.button("Run again", key=f"again-{job.id}", icon=":material/replay:", type="tertiary",
                         help="Start the same research again with your current settings"):
                _run_again(job)
            st.button("Delete", key=f"del-{job.id}", icon=":material/delete:", type="tertiary",
                      on_click=_ask_delete, args=(job.id,))


def row(job: StoredJob) -> None:
    """One job: its cells under the column headers, then its actions."""
    with st.container(border=True, key=f"job-{job.id}", gap=None):
        report, started, state, duration = st.columns([w for _, w in COLUMNS], vertical_alignment="center")
        about = " · ".join([workflow_label(job.kind), md.inline(job.model), *(["demo"] if job.demo else [])])
        report.markdown(f"**{md.inline(job.topic)}**  \n:gray[{about}]")
        started.caption(dt.datetime.fromtimestamp(job.created_at).strftime("%Y-%m-%d %H:%M"))
        state.markdown(job.status.value)
        duration.caption(duration_text(job))
        actions(job)


def page() -> None:
    """Draw the history page."""
    st.title("History")
    service = runtime.jobs()  # marks jobs of a previous server process as interrupted before listing
    text, statuses, kinds = filters()
    jobs = service.history(LIMIT, search=text, statuses=statuses, kinds=kinds)
    if not jobs:
        if text.strip() or statuses or kinds:
            st.info("No saved reports match the search and filters.", icon=":material/search_off:")
        else:
            st.info("No saved reports yet.")
            st.page_link(nav.research(), label="Research a market", icon=":material/analytics:")
    else:
        shown = f"{len(jobs)} report" + ("s" if len(jobs) != 1 else "")
        st.caption(f"The newest {shown}" if len(jobs) == LIMIT else shown)
        header()
        for job in jobs:
            row(job)
