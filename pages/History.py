"""History: every saved report, newest first, with open, download and delete."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from research.reports import markdown as md
from research.reports.companies import render_batch_markdown
from research.reports.market import download_name, render_markdown
from research.workflows.companies import CompanyBatchResult
from research.workflows.market import MarketResearchResult
from ui import nav, runtime

st.title("History")
store = runtime.store()
runtime.runner()  # marks jobs of a previous server process as interrupted before listing


def _markdown_of(job_id: str, kind: str) -> str:
    raw = store.result_json(job_id)
    if not raw:
        return ""
    if kind == "companies":
        return render_batch_markdown(CompanyBatchResult.model_validate_json(raw))
    return render_markdown(MarketResearchResult.model_validate_json(raw))


jobs = store.list()
if not jobs:
    st.info("No saved reports yet.")
    st.page_link(nav.research(), label="Research a market", icon=":material/analytics:")
for job in jobs:
    with st.container(border=True, key=f"job-{job.id}"):
        info, when, state, model, duration, actions = st.columns([4, 2, 1.2, 2, 1, 3], vertical_alignment="center")
        kind = "Companies" if job.kind == "companies" else "Market"
        info.markdown(f"**{md.inline(job.topic)}**  \n:gray[{kind}" + (" · demo" if job.demo else "") + "]")
        when.caption(dt.datetime.fromtimestamp(job.created_at).strftime("%Y-%m-%d %H:%M"))
        state.markdown(job.status)
        model.caption(md.inline(job.model))
        duration.caption(f"{job.duration:.1f} s" if job.duration is not None else "—")
        with actions.container(horizontal=True):
            page = nav.companies() if job.kind == "companies" else nav.research()
            st.page_link(page, label="Open", icon=":material/description:", query_params={"job": job.id})
            if job.status not in ("running", "interrupted", "failed"):
                st.download_button(".md", data=lambda job_id=job.id, kind=job.kind: _markdown_of(job_id, kind),
                                   key=f"dl-{job.id}", file_name=download_name(job.topic, "md"), mime="text/markdown", on_click="ignore",
                                   icon=":material/download:")
            if job.status != "running" and st.button("Delete", key=f"del-{job.id}", icon=":material/delete:", type="tertiary"):
                store.delete(job.id)
                st.rerun()
