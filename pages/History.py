"""History: every saved report, newest first, with open, download and delete."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from research.core.runs import JobStatus
from research.reports import markdown as md
from research.reports.exports import MARKDOWN, download_name, export
from research.workflows import workflow_for
from ui import nav, runtime

st.title("History")
store = runtime.store()
runner = runtime.runner()  # marks jobs of a previous server process as interrupted before listing


def _markdown_of(job_id: str) -> str:
    snapshot = runner.snapshot(job_id)
    if snapshot is None or snapshot.result is None:
        return ""
    return export(snapshot.kind, MARKDOWN).render(snapshot.result)


jobs = store.list()
if not jobs:
    st.info("No saved reports yet.")
    st.page_link(nav.research(), label="Research a market", icon=":material/analytics:")
for job in jobs:
    with st.container(border=True, key=f"job-{job.id}"):
        info, when, state, model, duration, actions = st.columns([4, 2, 1.2, 2, 1, 3], vertical_alignment="center")
        kind = workflow_for(job.kind).label
        info.markdown(f"**{md.inline(job.topic)}**  \n:gray[{kind}" + (" · demo" if job.demo else "") + "]")
        when.caption(dt.datetime.fromtimestamp(job.created_at).strftime("%Y-%m-%d %H:%M"))
        state.markdown(job.status.value)
        model.caption(md.inline(job.model))
        duration.caption(f"{job.duration:.1f} s" if job.duration is not None else "—")
        with actions.container(horizontal=True):
            st.page_link(nav.page_for(job.kind), label="Open", icon=":material/description:", query_params={"job": job.id})
            if job.status.has_report:
                st.download_button(".md", data=lambda job_id=job.id: _markdown_of(job_id), key=f"dl-{job.id}",
                                   file_name=download_name(job.kind, job.topic, MARKDOWN), mime="text/markdown",
                                   on_click="ignore", icon=":material/download:")
            if job.status is not JobStatus.RUNNING and st.button("Delete", key=f"del-{job.id}", icon=":material/delete:",
                                                                 type="tertiary"):
                store.delete(job.id)
                st.rerun()
