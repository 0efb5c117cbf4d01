"""A company batch on the page: the live status grid, then the comparison and profiles."""

from __future__ import annotations

import streamlit as st

from research.jobs.service import CompanyBatchResult, JobSnapshot
from research.reports.charts import batch_revenue_chart
from research.reports.companies import batch_report_parts
from research.reports.views import batch_progress


def status_grid(snapshot: JobSnapshot) -> None:
    """Counts, a progress bar and one table row per company (and the comparison)."""
    progress = batch_progress(snapshot.steps)
    st.progress(progress.fraction, text=progress.text)
    st.dataframe(progress.rows, hide_index=True, width="stretch", key=f"grid-{snapshot.id}")


def report(result: CompanyBatchResult, key: str) -> None:
    """The batch report, with the revenue chart after the comparison."""
    parts = batch_report_parts(result)
    st.markdown(parts.head)
    st.markdown(parts.comparison)
    chart = batch_revenue_chart(result)
    if chart is not None:
        st.plotly_chart(chart, key=f"revenue-{key}", config={"displaylogo": False})
    for part in (parts.table, parts.profiles, parts.details):
        st.markdown(part)
