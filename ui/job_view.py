"""A job on the page: live status and the sections written so far, then its report and downloads."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from research.config import ConfigError
from research.inputs import WorkflowKind
from research.jobs.service import JobSnapshot, JobStatus, Period, StepState, WatchedTopic
from research.owners import Access
from research.reports import markdown as md
from research.reports.changes import render_changes
from research.reports.exports import EXPORTS, download_name
from research.reports.market import headline_metrics_so_far, report_head, run_details
from research.reports.sections import market_sections
from research.reports.views import being_written, duration_label
from ui import batch_view, report_view, runtime, status

NewButton = Callable[[], None]
"""Draws a page's button that leaves the job for a new one (e.g. the Research page's *New research*)."""
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
    snapshot = runtime.jobs().snapshot(job_id, runtime.access())
    if snapshot is None or snapshot.finished:
        st.rerun()
    spent = f" · {snapshot.spend_label} so far" if snapshot.spent_tokens or snapshot.budget_tokens else ""
    box = st.status(f"Researching “{md.inline(snapshot.title)}”…{spent}", state="running", expanded=True)
    with box.container():  # not `with box:`, whose exit would mark the job complete
        if snapshot.resumed:
            st.info(RESUMED_NOTE, icon=":material/restart_alt:")
        _progress(snapshot)
        if not runtime.access().may_change(snapshot.owner):  # another person's job in a shared history
            st.caption(read_only(snapshot))
        elif st.button("Cancel", key=f"cancel-{job_id}", icon=":material/stop_circle:"):
            runtime.jobs().cancel(job_id, runtime.access())
    if snapshot.kind is WorkflowKind.MARKET:  # the key figures fill in as the research agents finish
        report_view.tiles(headline_metrics_so_far(snapshot.partial, snapshot.problems), key=f"live-tiles-{job_id}")
        report_view.sections(market_sections(snapshot.partial, snapshot.problems), f"live-{job_id}", only_ready=True)


def downloads(snapshot: JobSnapshot) -> None:
    """A "Download" menu with a button per export of the job's workflow."""
    with st.popover("Download", icon=":material/download:", key=f"downloads-{snapshot.id}"):
        for number, item in enumerate(EXPORTS[snapshot.kind]):
            st.download_button(item.label, data=lambda item=item: item.render(snapshot.result),  # built when clicked
                               mime=item.mime, on_click="ignore",
                               file_name=download_name(snapshot.kind, snapshot.title, item.extension),
                               key=f"{item.extension}-{snapshot.id}", icon=":material/download:",
                               type="primary" if number == 0 else "secondary", width="stretch")


@st.cache_data(show_spinner=False, ttl=60, max_entries=500)
def _watched(job_id: str, access: Access) -> WatchedTopic | None:
    """How often the person has the report's topic refreshed (read from the schedules once a minute at most:
    each read opens a database client; watching or not clears it)."""
    return runtime.jobs().watched_topic(job_id, access)


def _watch(job_id: str, key: str) -> None:
    runtime.jobs().watch_topic(job_id, Period(st.session_state[key]), runtime.access())
    _watched.clear()
    st.toast("Watching this topic: each refreshed report opens with what changed.", icon=":material/notifications:")


def _unwatch(job_id: str) -> None:
    runtime.jobs().unwatch_topic(job_id, runtime.access())
    _watched.clear()
    st.toast("No longer watching this topic.", icon=":material/notifications_off:")


def watch_menu(snapshot: JobSnapshot) -> None:
    """*Watch*: have the report's topic researched again daily, weekly or monthly (or stop that)."""
    watched = _watched(snapshot.id, runtime.access())
    label = f"Watching ({watched.every})" if watched else "Watch"
    with st.popover(label, icon=":material/notifications:", key=f"watch-{snapshot.id}"):
        if watched is not None:
            last = f", last on {watched.last_refreshed[:10]}" if watched.last_refreshed else ""
            st.caption(f"Refreshed {watched.every} at 06:00 UTC{last}; each new report opens with what changed "
                       "and appears in History.")
            st.button("Stop watching", key=f"unwatch-{snapshot.id}", icon=":material/notifications_off:",
                      on_click=_unwatch, args=(snapshot.id,))
            return
        key = f"watch-every-{snapshot.id}"
        st.radio("Research this topic again", [p.value for p in Period], index=1, key=key, horizontal=True,
                 help="At 06:00 UTC (weekly on Mondays, monthly on the 1st), within the daily budget; each new "
                      "report opens with what changed since the last one.")
        st.button("Watch this topic", key=f"do-watch-{snapshot.id}", type="primary",
                  icon=":material/notifications:", on_click=_watch, args=(snapshot.id, key))


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


def read_only(snapshot: JobSnapshot) -> str:
    """The note on another person's job in a shared history: whose it is, and that this page only reads it."""
    whose = runtime.whose(snapshot.owner, snapshot.owner_name)
    return f":material/visibility: Started by {md.inline(whose)}: read-only."


def run_again_buttons(snapshot: JobSnapshot, *, retry: bool = True) -> None:
    """Run the job again with this session's settings, or (``retry``) retry only what failed, keeping what
    succeeded. Drawn into the current container (the controls row)."""
    if not runtime.access().may_change(snapshot.owner):  # another person's report in a shared history
        st.caption(read_only(snapshot))
        return
    if snapshot.request is None:
        st.caption(OLDER_RELEASE)
        return
    settings = runtime.session_settings(runtime.settings_or_stop())
    failed = [s for s in snapshot.steps if s.state.finished and s.state is not StepState.DONE]
    st.button("Run again", key=f"again-{snapshot.id}", icon=":material/replay:",
              on_click=_open, args=(lambda: runtime.jobs().run_again(snapshot.id, settings, runtime.access()),))
    if retry and snapshot.result is not None and failed and snapshot.status is not JobStatus.COMPLETE:
        st.button(f"Retry failed parts ({len(failed)})", key=f"retry-{snapshot.id}", icon=":material/build:",
                  help="Runs only the steps that failed or did not finish; keeps the rest",
                  on_click=_open, args=(lambda: runtime.jobs().retry_failed(snapshot.id, settings,
                                                                                 runtime.access()),))


def _stopped_early(snapshot: JobSnapshot, new: NewButton | None) -> None:
    """A job cancelled or interrupted before any finding arrived: said plainly, with no empty report."""
    what = "Cancelled" if snapshot.status is JobStatus.CANCELLED else _OUTCOME.get(snapshot.status, ("", "Stopped"))[1]
    st.warning(f"**{what} — nothing had finished.** “{md.inline(snapshot.title)}” has no report: no research "
               "step had finished.", icon=":material/cancel:")
    with st.container(horizontal=True, key=f"controls-{snapshot.id}", vertical_alignment="center"):
        if new is not None:
            new()
        run_again_buttons(snapshot, retry=False)


def finished(snapshot: JobSnapshot, new: NewButton | None = None) -> None:
    """A job that has ended: its status line (steps inside), one row of controls (``new``, run again, retry,
    download), then its report, whose title and headline figures come first."""
    if snapshot.status in (JobStatus.CANCELLED, JobStatus.INTERRUPTED) and not snapshot.found_anything:
        _stopped_early(snapshot, new)
        return
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
    has_report = result is not None and result.status is not JobStatus.FAILED
    with st.container(horizontal=True, key=f"controls-{snapshot.id}", vertical_alignment="center"):
        if new is not None:
            new()
        run_again_buttons(snapshot)
        if has_report:
            downloads(snapshot)
        if has_report and snapshot.kind is WorkflowKind.MARKET and runtime.access().may_change(snapshot.owner):
            watch_menu(snapshot)
    if result is None:
        return
    if result.status is JobStatus.FAILED:
        st.error(f"No report: {result.error}")
        return
    if snapshot.kind is WorkflowKind.COMPANIES:
        batch_view.report(result, snapshot.id)
    else:  # the same title, notices and run details as the downloaded report
        head = report_head(result)  # the grounding line goes under the tiles, so they fit the first screen
        grounding = [line for line in head if line.startswith("**Grounding:**")]
        st.markdown("\n\n".join(line for line in head if line not in grounding))
        report = market_sections(snapshot.partial, snapshot.problems)
        report_view.headline_metrics(result)
        if grounding:
            st.markdown(grounding[0])
        if result.changes is not None:  # what changed since this person's last report on the topic
            with st.container(border=True, key=f"changes-{snapshot.id}"):
                st.markdown(render_changes(result.changes, heading="####"))
        report_view.jump_links(report)
        report_view.sections(report, snapshot.id)
        st.markdown(run_details(result))


def show(job_id: str, new: NewButton | None = None) -> None:
    """Show the job named in the URL, running or finished; ``new`` draws the page's button for a new job
    (in the finished job's row of controls)."""
    snapshot = runtime.jobs().snapshot(job_id, runtime.access())
    if snapshot is None:
        st.error("There is no report at this link. It may have been deleted — see History.")
        if new is not None:
            new()
        return
    if snapshot.finished:
        finished(snapshot, new)
    else:
        if new is not None:
            new()
        live(job_id)
