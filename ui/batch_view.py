"""A company batch on the page: the live status grid, then the comparison and profiles."""

from __future__ import annotations

import streamlit as st

from research.jobs.service import CompanyBatchResult, JobSnapshot
from research.reports import markdown as md
from research.reports.charts import batch_revenue_chart
from research.reports.companies import batch_headline, batch_report_parts, batch_title
from research.reports.views import batch_progress


def status_grid(snapshot: JobSnapshot) -> None:
    """Counts, a progress bar and one table row per company (and the comparison)."""
    progress = batch_progress(snapshot.steps)
    st.progress(progress.fraction, text=progress.text)
    st.dataframe(progress.rows, hide_index=True, width="stretch", key=f"grid-{snapshot.id}")


def headline_metrics(result: CompanyBatchResult, key: str) -> None:
    """The batch at a glance: a bordered metric tile per headline figure, in full (or why it is missing) in its
    tooltip. Each tile is as wide as its text and the row wraps, so a narrow screen cuts no name short."""
    with st.container(horizontal=True, wrap=True, gap="small", key=f"batch-headline-{key}"):
        for metric in batch_headline(result):
            # the line under a value is a caption, not a change
            quiet = {"delta": metric.caption, "delta_color": "off", "delta_arrow": "off"} if metric.caption else {}
            st.metric(metric.label, metric.value, help=md.inline(metric.help), border=True, width="content", **quiet)


def report(result: CompanyBatchResult, key: str) -> None:
    """The batch report: its title and headline figures first (on the first screen), the rest of its head,
    then the comparison with the revenue chart after it."""
    parts = batch_report_parts(result)
    title = batch_title(result)
    st.markdown(title)
    headline_metrics(result, key)
    st.markdown(parts.head.removeprefix(title).lstrip("\n"))
    if parts.changes:
        with st.container(border=True, key=f"batch-changes-{key}"):
            st.markdown(parts.changes)
    st.markdown(parts.comparison)
    chart = batch_revenue_chart(result)
    if chart is not None:
        st.plotly_chart(chart, key=f"revenue-{key}", config={"displaylogo": False})
    for part in (parts.table, parts.profiles, parts.details):
        st.markdown(part)
