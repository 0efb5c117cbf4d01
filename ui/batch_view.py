"""A company batch on the page: the live status grid, then the comparison and profiles."""

from __future__ import annotations

import re

import streamlit as st

from research.jobs import JobSnapshot
from research.progress import STATE_SYMBOLS
from research.reports.charts import company_revenue_chart
from research.reports.companies import render_batch_csv, render_batch_json, render_batch_markdown
from research.reports.market import download_name
from research.workflows.companies import COMPARISON_KEY, CompanyBatchResult, company_name


def status_grid(snapshot: JobSnapshot) -> None:
    """Counts, a progress bar and one table row per company (and the comparison)."""
    companies = [a for a in snapshot.agents if a.key != COMPARISON_KEY]
    done = sum(1 for a in companies if a.state.finished)
    failed = sum(1 for a in companies if a.state.finished and a.state.value != "done")
    st.progress(done / max(len(companies), 1), text=f"{done} of {len(companies)} companies finished · {failed} failed")
    rows = [{"Company": "Comparison" if a.key == COMPARISON_KEY else company_name(a.key), "Status": f"{STATE_SYMBOLS[a.state]} {a.state.value}",
             "Time": f"{a.elapsed:.1f} s" if a.elapsed is not None else "",
             "Attempt": f"{a.attempt} of {a.max_attempts}" if a.state.value == "retrying" else "",
             "Tokens": f"{a.tokens:,}" if a.tokens else "", "Note": a.message}
            for a in snapshot.agents]
    st.dataframe(rows, hide_index=True, width="stretch", key=f"grid-{snapshot.id}")


def downloads(result: CompanyBatchResult, key: str) -> None:
    """Markdown, CSV and JSON download buttons."""
    row = st.container(horizontal=True)
    for label, render, ext, mime in (("Download report (.md)", render_batch_markdown, "md", "text/markdown"),
                                     ("Download table (.csv)", render_batch_csv, "csv", "text/csv"),
                                     ("Download data (.json)", render_batch_json, "json", "application/json")):
        row.download_button(label, data=render(result), file_name=download_name(f"companies {result.title}", ext),
                            mime=mime, key=f"{ext}-{key}", on_click="ignore", icon=":material/download:",
                            type="primary" if ext == "md" else "secondary")


def report(result: CompanyBatchResult, key: str) -> None:
    """The batch Markdown, with the revenue chart after the comparison table."""
    profiles = {company_name(o.key): o.result for o in result.companies if o.ok and o.result is not None}
    for part in re.split(r"(?m)^(?=## )", render_batch_markdown(result)):
        st.markdown(part)
        if part.startswith("## Comparison") and profiles:
            st.plotly_chart(company_revenue_chart(profiles), key=f"revenue-{key}", config={"displaylogo": False})
