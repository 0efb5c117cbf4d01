"""A company batch on the page: the live status grid, then the comparison and profiles."""

from __future__ import annotations

import streamlit as st

from research.jobs.snapshots import JobSnapshot
from research.progress import STATE_SYMBOLS
from research.reports.charts import company_revenue_chart
from research.reports.companies import batch_report_parts
from research.workflows.companies import CompanyBatchResult
from research.workflows.keys import StepKey, StepKind


def status_grid(snapshot: JobSnapshot) -> None:
    """Counts, a progress bar and one table row per company (and the comparison)."""
    kinds = {a.key: StepKey.parse(a.key).kind for a in snapshot.steps}
    companies = [a for a in snapshot.steps if kinds[a.key] is StepKind.COMPANY]
    done = sum(1 for a in companies if a.state.finished)
    failed = sum(1 for a in companies if a.state.finished and a.state.value != "done")
    st.progress(done / max(len(companies), 1), text=f"{done} of {len(companies)} companies finished · {failed} failed")
    rows = [{"Company": a.label, "Status": f"{STATE_SYMBOLS[a.state]} {a.state.value}",
             "Time": f"{a.elapsed:.1f} s" if a.elapsed is not None else "",
             "Attempt": f"{a.attempt} of {a.max_attempts}" if a.state.value == "retrying" else "",
             "Tokens": f"{a.tokens:,}" if a.tokens else "", "Note": a.message}
            for a in snapshot.steps if kinds[a.key] in (StepKind.COMPANY, StepKind.COMPARISON)]
    st.dataframe(rows, hide_index=True, width="stretch", key=f"grid-{snapshot.id}")


def report(result: CompanyBatchResult, key: str) -> None:
    """The batch report, with the revenue chart after the comparison."""
    parts = batch_report_parts(result)
    st.markdown(parts.head)
    st.markdown(parts.comparison)
    profiles = {StepKey.parse(o.key).subject: o.result for o in result.companies if o.ok and o.result is not None}
    if profiles:
        st.plotly_chart(company_revenue_chart(profiles), key=f"revenue-{key}", config={"displaylogo": False})
    for part in (parts.table, parts.profiles, parts.details):
        st.markdown(part)
