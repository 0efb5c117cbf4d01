"""The history page: every saved job in one compact table, newest first, searchable and filterable.

Selecting rows shows what can be done with them above the table: for one row open it, download it in
each format, run it again, retry its failed parts (where its page offers that) or delete it; for several
rows delete them together; for two finished market reports compare them (what changed from the one that
started first to the other, shown below the actions, with its Markdown download). Deleting asks first,
naming the reports. A running job can be opened but neither run again nor deleted until it ends. The
table's *Spend* column shows what each run spent: its tokens and estimated cost.

The table's selection is kept by job id, not by row position: when rows come or go between two runs
(a job started elsewhere, a filter changed, a report deleted) the same jobs stay selected, and a
selected job that is no longer listed is no longer selected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from research.config import ConfigError
from research.inputs import WorkflowKind
from research.jobs.service import JobSnapshot, JobStatus, MarketResearchResult, StepState, StoredJob
from research.owners import Access
from research.reports import markdown as md
from research.reports.changes import render_changes, render_comparison
from research.reports.charts import chart_for_section, narrow
from research.reports.exports import EXPORTS, Export, download_name
from research.reports.preview import history_preview
from research.reports.sections import market_sections
from research.reports.views import workflow_label
from ui import nav, report_view, runtime

LIMIT = 200
TABLE = "history-table"  # the table's widget key (its selection: row positions)
SHOWN = "history-shown"  # session key: the job ids of the table's rows at its last draw, top to bottom
CONFIRM = "history-confirm-delete"  # session key: the ids of the jobs whose delete question is showing
COMPARE = "history-comparing"  # session key: the ids of the two jobs whose comparison is showing
COLUMNS = ("Report", "Preview", "Started", "Status", "Duration", "Workflow", "Spend")
ROW_HEIGHT = 35  # px, Streamlit's default for one line of text
MAX_ROWS_TALL = 14  # the table grows with its rows up to this many, then scrolls (about a 1024×768 screen's worth)
NAMED_AT_MOST = 3  # a bulk delete question names this many reports, then says how many more
ACTIONS_HEIGHT = 96  # px: the row above the table keeps one height, so selecting a row never moves the table


def _rendered(job_id: str, item: Export) -> str:
    """A finished job's result in one export format, made only when the download is clicked."""
    snapshot = runtime.jobs().snapshot(job_id, runtime.access())
    if snapshot is None or snapshot.result is None:
        return ""
    return item.render(snapshot.result)


@st.cache_data(show_spinner=False, max_entries=2000)
def _preview(job_id: str, status: str, finished_at: float | None) -> str:
    """The job's preview cell; a finished job's result no longer changes (status and finish time are the key).
    Only ever asked for the jobs the table lists to the person asking."""
    snapshot = runtime.jobs().snapshot(job_id, runtime.access())
    return history_preview(snapshot.result if snapshot is not None else None)


def preview(job: StoredJob) -> str:
    """The preview cell of ``job``: its headline figure, "" while it runs or when it has none."""
    if not job.status.finished:
        return ""
    return _preview(job.id, job.status.value, job.finished_at)


def spend(job: StoredJob) -> str:
    """The spend cell of ``job``: its estimated cost and tokens, e.g. "$0.004 · 12,345 tok"; "" when unknown.

    The cost comes first (a narrow column cuts the tokens, not the cost); it is left out where the model's
    price was not known (and for the offline demo model): "12,345 tok".
    """
    if job.tokens is None:
        return ""
    tokens = f"{job.tokens / 1_000_000:.1f}M tok" if job.tokens >= 1_000_000 else f"{job.tokens:,} tok"
    if job.cost_usd is None:
        return tokens
    cost = ("<$0.001" if job.cost_usd < 0.001 else f"${job.cost_usd:.3f}" if job.cost_usd < 1
            else f"${job.cost_usd:,.2f}")
    return f"{cost} · {tokens}"


def when(job: StoredJob) -> str:
    """When the job started, short, as delete questions name it, e.g. "4 Dec, 14:02" (the year when not this one)."""
    started = dt.datetime.fromtimestamp(job.created_at)
    year = f" {started.year}" if started.year != dt.datetime.now().year else ""
    return f"{started.day} {started:%b}{year}, {started:%H:%M}"


def named(job: StoredJob) -> str:
    """The report as a delete question names it: “Plant-based dairy” (4 Dec, 14:02), Markdown-escaped."""
    return f"“{md.inline(job.topic)}” ({when(job)})"


def delete_question(jobs: Sequence[StoredJob]) -> str:
    """The question asked before deleting ``jobs``, naming them (the first few of many)."""
    if len(jobs) == 1:
        return f"Delete {named(jobs[0])}?"
    names = [named(job) for job in jobs[:NAMED_AT_MOST]]
    more = len(jobs) - len(names)
    listed = ", ".join(names[:-1]) + " and " + names[-1] if not more else ", ".join(names) + f" and {more} more"
    return f"Delete {len(jobs)} reports: {listed}?"


def _ask_delete(job_ids: tuple[str, ...]) -> None:
    st.session_state[CONFIRM] = job_ids


def _cancel_delete() -> None:
    st.session_state.pop(CONFIRM, None)


def _gone_text(jobs: Sequence[StoredJob]) -> str:
    """What the toast after deleting ``jobs`` says."""
    return f"Deleted {named(jobs[0])}." if len(jobs) == 1 else f"Deleted {len(jobs)} reports."


def _delete(job_ids: tuple[str, ...], done: str) -> None:
    service, access = runtime.jobs(), runtime.access()
    for job_id in job_ids:
        service.delete(job_id, access)
    st.session_state.pop(CONFIRM, None)
    st.toast(done, icon=":material/delete:")


def _open_new(job: StoredJob, start_new: str) -> None:
    """Start the job again (``start_new``: "again" or "retry") with this session's settings; open the new job."""
    settings = runtime.session_settings(runtime.settings_or_stop())
    service = runtime.jobs()
    try:
        new_id = (service.run_again(job.id, settings, runtime.access()) if start_new == "again"
                  else service.retry_failed(job.id, settings, runtime.access()))
    except ConfigError as exc:
        st.toast(f"Configuration problem: {exc}", icon=":material/settings:")
        return
    if new_id is None:
        st.toast("This job cannot be started again: it is no longer in the history, or an earlier release saved it "
                 "without its request.", icon=":material/error:")
        return
    st.switch_page(nav.page_for(job.kind), query_params={"job": new_id})


def failed_parts(snapshot: JobSnapshot | None) -> int:
    """How many steps *Retry failed parts* would run again (0: the job's page offers no retry either)."""
    if snapshot is None or snapshot.result is None or snapshot.request is None or snapshot.status is JobStatus.COMPLETE:
        return 0
    return sum(1 for s in snapshot.steps if s.state.finished and s.state is not StepState.DONE)


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


def selected(jobs: list[StoredJob]) -> list[StoredJob]:
    """The listed jobs selected in the table, top to bottom; keeps the table's selection on the same jobs.

    Call before drawing the table: the selection's row positions are read through the rows shown last
    time, and written back as the positions of the same jobs in ``jobs`` when rows have moved.
    """
    shown: list[str] = st.session_state.get(SHOWN, [])
    state = st.session_state.get(TABLE)
    rows = list(state["selection"]["rows"]) if state else []
    ids = {shown[r] for r in rows if 0 <= r < len(shown)}
    positions = [n for n, job in enumerate(jobs) if job.id in ids]
    if positions != rows:
        st.session_state[TABLE] = {"selection": {"rows": positions, "columns": []}}
    return [jobs[n] for n in positions]


def table(jobs: list[StoredJob]) -> None:
    """One row per job: its title, figure preview, start, status, duration, workflow and spend; rows can be selected.

    Where everyone's reports are listed (a shared history, or an admin's), a *By* column says whose each one is, in
    the place of *Duration* (a selected row's caption still gives it)."""
    everyone = runtime.access().sees_everyone
    columns = [name for name in COLUMNS if name != "Duration"] if everyone else list(COLUMNS)
    if everyone:
        columns.insert(columns.index("Preview") + 1, "By")
    data = pd.DataFrame({
        "Report": [job.topic for job in jobs],
        "Preview": [preview(job) or None for job in jobs],
        "By": [runtime.whose(job.owner, job.owner_name) for job in jobs],
        "Started": [dt.datetime.fromtimestamp(job.created_at) for job in jobs],
        "Status": [job.status.value for job in jobs],
        "Duration": pd.Series([job.duration for job in jobs], dtype="float64"),
        "Workflow": [workflow_label(job.kind).removesuffix(" research") for job in jobs],
        "Spend": [spend(job) or None for job in jobs],
    }, columns=columns)
    # The widths (530 px and the selection column) fill a 1024 px window beside the sidebar; a wider table shares
    # the rest out among them. Long titles, previews and spends are cut there (a selected row's caption has them).
    config = {
        "Report": st.column_config.TextColumn("Report", width=108, help="The topic, or the companies"),
        "Preview": st.column_config.TextColumn(
            "Preview", width=84, help="Market size (year) and leader with its share, or the batch's size"),
        "By": st.column_config.TextColumn("By", width=58, help="Who started it"),
        "Started": st.column_config.DatetimeColumn("Started", format="D MMM, HH:mm", width=80),
        "Status": st.column_config.TextColumn("Status", width=66),
        "Duration": st.column_config.NumberColumn("Duration", format="%.1f s", width=58,
                                                  help="The run's own time; — while it runs"),
        "Workflow": st.column_config.TextColumn("Workflow", width=62),
        "Spend": st.column_config.TextColumn(
            "Spend", width=72, help="The estimated cost (where the model's price is known) and the tokens the run "
                                    "spent; — while it runs, and for runs of older releases"),
    }
    st.session_state[SHOWN] = [job.id for job in jobs]
    st.dataframe(data, key=TABLE, on_select="rerun", selection_mode="multi-row", hide_index=True,
                 column_config=config, placeholder="—", row_height=ROW_HEIGHT,
                 height=ROW_HEIGHT * (min(len(jobs), MAX_ROWS_TALL) + 1) + 3)


def confirm(jobs: list[StoredJob]) -> None:
    """The delete question naming ``jobs``, with its answers beside it."""
    ids = tuple(job.id for job in jobs)
    with st.container(horizontal=True, vertical_alignment="center", key="history-confirm", gap="small"):
        st.markdown(f":material/delete: {delete_question(jobs)}", width="stretch")
        label = "Delete report" if len(jobs) == 1 else f"Delete {len(jobs)} reports"
        st.button(label, key="history-delete-yes", type="primary", on_click=_delete, args=(ids, _gone_text(jobs)))
        st.button("Cancel", key="history-delete-no", on_click=_cancel_delete)


def one(job: StoredJob) -> None:
    """What can be done with one selected job: open, download, run again, retry, delete."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="history-one"):
        st.page_link(nav.page_for(job.kind), label="Open", icon=":material/description:", query_params={"job": job.id})
        if job.status.has_report:
            with st.popover("Download", icon=":material/download:", type="tertiary",
                            help="Download the report in every format"):
                for item in EXPORTS[job.kind]:
                    st.download_button(item.label, data=lambda item=item, job_id=job.id: _rendered(job_id, item),
                                       key=f"dl-{item.extension}-{job.id}", mime=item.mime, on_click="ignore",
                                       file_name=download_name(job.kind, job.topic, item.extension),
                                       icon=":material/download:", width="stretch")
        access = runtime.access()
        if job.status.finished and access.may_change(job.owner):
            if st.button("Run again", key=f"again-{job.id}", icon=":material/replay:", type="tertiary",
                         help="Start the same research again with your current settings"):
                _open_new(job, "again")
            failed = failed_parts(runtime.jobs().snapshot(job.id, access)) if job.status is not JobStatus.COMPLETE \
                else 0
            if failed and st.button(f"Retry failed parts ({failed})", key=f"retry-{job.id}", icon=":material/build:",
                                    type="tertiary", help="Runs only the steps that failed or did not finish; "
                                                          "keeps the rest"):
                _open_new(job, "retry")
        if job.status.finished and access.may_delete(job.owner):
            st.button("Delete", key=f"del-{job.id}", icon=":material/delete:", type="tertiary",
                      on_click=_ask_delete, args=((job.id,),))
    started = dt.datetime.fromtimestamp(job.created_at)
    by = "" if access.owns(job.owner) else f"by {md.inline(runtime.whose(job.owner, job.owner_name))}"
    took = f"{job.duration:.1f} s" if job.duration is not None else ""
    about = [f"“{md.inline(job.topic)}”", md.inline(preview(job)), by,
             f"{started.day} {started:%b %Y, %H:%M}", took,
             md.inline(spend(job)).replace("$", "\\$"), md.inline(job.model), "demo" if job.demo else "",
             "" if job.status.finished else "a running job can be deleted once it ends"]
    st.caption(" · ".join(part for part in about if part))


def not_comparable(jobs: Sequence[StoredJob]) -> str:
    """Why the selected ``jobs`` cannot be compared ("" when they can: two finished market reports)."""
    if len(jobs) != 2:
        return "select two market reports to compare them"
    for job in jobs:
        if job.kind is not WorkflowKind.MARKET:
            return f"“{md.inline(job.topic)}” is not a market report"
        if not job.status.finished:
            return f"“{md.inline(job.topic)}” is still running"
        if not job.status.has_report:
            return f"“{md.inline(job.topic)}” {job.status.value.replace('interrupted', 'was interrupted')} with no report"
    return ""


def _show_comparison(job_ids: tuple[str, str]) -> None:
    st.session_state[COMPARE] = job_ids


def _close_comparison() -> None:
    st.session_state.pop(COMPARE, None)


def several(jobs: list[StoredJob]) -> None:
    """What can be done with several selected jobs: delete the finished ones together; compare two market reports."""
    access = runtime.access()
    finished = tuple(job.id for job in jobs if job.status.finished and access.may_delete(job.owner))
    why = not_comparable(jobs) if len(jobs) == 2 else ""
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="history-several"):
        st.markdown(f"**{len(jobs)} selected**")
        if len(jobs) == 2 and not why:
            st.button("Compare", key="history-compare", icon=":material/compare_arrows:", type="tertiary",
                      help="What changed from the report that started first to the other one",
                      on_click=_show_comparison, args=((jobs[0].id, jobs[1].id),))
        if finished:
            st.button(f"Delete {len(finished)} selected", key="history-delete-selected", icon=":material/delete:",
                      type="tertiary", on_click=_ask_delete, args=(finished,))
    about = ", ".join(f"“{md.inline(job.topic)}”" for job in jobs[:NAMED_AT_MOST])
    about += f" and {len(jobs) - NAMED_AT_MOST} more" if len(jobs) > NAMED_AT_MOST else ""
    others = sum(1 for job in jobs if not access.may_delete(job.owner))
    if others:
        about += f" · {others} of another person's (read-only) left out"
    if len(finished) + others < len(jobs):
        running = len(jobs) - len(finished) - others
        about += f" · {running} running report" + (" is" if running == 1 else "s are") + " left out: a running job " \
                 "can be deleted once it ends"
    if why:
        about += f" · no comparison: {why}"
    st.caption(about)


@st.cache_data(show_spinner=False, max_entries=50)
def _compared(job_a: str, job_b: str, access: Access) -> tuple[str, str, str]:
    """Two finished market reports compared: both runs named, what changed (Markdown), and the comparison as a
    document to download; or ("", "", the reason) when they cannot be compared (finished jobs no longer change)."""
    try:
        comparison = runtime.jobs().compare(job_a, job_b, access)
    except ValueError as exc:
        return "", "", str(exc)
    return comparison.runs, render_changes(comparison, heading="######"), render_comparison(comparison)


def comparison(chosen: list[StoredJob]) -> None:
    """Below the actions: what changed between the two selected market reports, once *Compare* was clicked."""
    ids = tuple(job.id for job in chosen)
    asked = st.session_state.get(COMPARE)
    if not asked or sorted(asked) != sorted(ids) or not_comparable(chosen):
        st.session_state.pop(COMPARE, None)  # the selection changed since the click: the comparison no longer applies
        return
    runs, changes, document = _compared(*sorted(ids), runtime.access())
    with st.container(border=True, key="history-comparison"):
        if not runs:
            st.error(f"These reports cannot be compared: {md.inline(document)}.", icon=":material/error:")
        else:
            st.markdown(f"##### Compare {runs}")
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):  # above the text: in view on a short screen
            if runs:
                later = max(chosen, key=lambda job: job.created_at)
                st.download_button("Download comparison (.md)", data=document, key="history-compare-download",
                                   file_name=download_name(WorkflowKind.MARKET, f"changes {later.topic}", "md"),
                                   mime="text/markdown", on_click="ignore", icon=":material/download:",
                                   type="tertiary")
            st.button("Close", key="history-compare-close", icon=":material/close:", type="tertiary",
                      on_click=_close_comparison)
        if runs:
            st.markdown(changes)
            side_by_side(chosen)


def side_by_side(chosen: list[StoredJob]) -> None:
    """The two reports' headline figures and charts side by side, the earlier on the left."""
    access = runtime.access()
    for column, job in zip(st.columns(2, gap="medium"), sorted(chosen, key=lambda job: job.created_at)):
        snapshot = runtime.jobs().snapshot(job.id, access)
        if snapshot is None or not isinstance(snapshot.result, MarketResearchResult):
            continue
        with column:
            st.markdown(f"**{md.inline(job.topic)}** · {when(job)}")
            report_view.headline_metrics(snapshot.result, key=f"compare-headline-{job.id}")
            for section in market_sections(snapshot.partial, snapshot.problems):
                figure = chart_for_section(section)
                if figure is not None:
                    st.plotly_chart(narrow(figure), key=f"compare-{job.id}-{section.key}", config={"displaylogo": False})


def actions(jobs: list[StoredJob], chosen: list[StoredJob]) -> None:
    """Above the table: how many reports there are, or what can be done with the selected ones."""
    with st.container(height=ACTIONS_HEIGHT, border=False, gap="small", key="history-actions"):
        _actions(jobs, chosen)


def _actions(jobs: list[StoredJob], chosen: list[StoredJob]) -> None:
    asked = st.session_state.get(CONFIRM)
    deletable = [job for job in chosen if job.status.finished and runtime.access().may_delete(job.owner)]
    if asked and asked == tuple(job.id for job in deletable):
        confirm(deletable)
        return
    st.session_state.pop(CONFIRM, None)  # the selection changed since the question: it no longer applies
    if len(chosen) == 1:
        one(chosen[0])
    elif chosen:
        several(chosen)
    else:
        shown = f"{len(jobs)} report" + ("s" if len(jobs) != 1 else "")
        st.caption(("The newest " if len(jobs) == LIMIT else "") + shown
                   + " · select a row to open, download, run again or delete it; select several to delete them "
                     "together, or two market reports to compare them")


def page() -> None:
    """Draw the history page."""
    st.title("History")
    service = runtime.jobs()  # marks jobs of a previous server process as interrupted before listing
    text, statuses, kinds = filters()
    jobs = service.history(LIMIT, search=text, statuses=statuses, kinds=kinds, access=runtime.access())
    chosen = selected(jobs)
    if not jobs:
        st.session_state[SHOWN] = []
        if text.strip() or statuses or kinds:
            st.info("No saved reports match the search and filters.", icon=":material/search_off:")
        else:
            st.info("No saved reports yet.")
            st.page_link(nav.research(), label="Research a market", icon=":material/analytics:")
        return
    actions(jobs, chosen)
    comparison(chosen)
    table(jobs)
