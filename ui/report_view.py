"""The market report on the page, drawn from the report's typed sections, each chart beside its data."""

from __future__ import annotations

import streamlit as st

from research.jobs.service import MarketResearchResult
from research.reports import markdown as md
from research.reports.charts import chart_for_section
from research.reports.market import HeadlineMetric, section_details, section_intro
from research.reports.market import headline_metrics as metrics_of
from research.reports.sections import ReportSection


def sections(report: list[ReportSection], key: str, *, only_ready: bool = False) -> None:
    """Draw the sections (``only_ready``: those whose prose or data has arrived, while the job runs)."""
    for section in report:
        if only_ready and section.pending and section.data is None:
            continue
        st.markdown(f"## {section.title}")
        intro = section_intro(section)
        if intro:
            st.markdown(intro)
        figure = chart_for_section(section)
        if figure is not None:
            st.plotly_chart(figure, key=f"chart-{section.key}-{key}", config={"displaylogo": False})
        details = section_details(section)
        if details:
            st.markdown(details)


def headline_metrics(result: MarketResearchResult, key: str = "headline") -> None:
    """The report's key figures at a glance, each with its checked status (in full in its tooltip)."""
    tiles(metrics_of(result), key)


def tiles(metrics: list[HeadlineMetric], key: str) -> None:
    """Key figures as metric tiles, in their columns' order.

    Each tile is as wide as its text and the row wraps, so on a narrow screen a tile moves to the next
    line instead of cutting its label, value or name short.
    """
    with st.container(horizontal=True, wrap=True, gap="small", key=key):
        for metric in sorted(metrics, key=lambda m: m.column):
            # the line under a value is a caption, not a change
            quiet = {"delta": metric.delta, "delta_color": "off", "delta_arrow": "off"} if metric.caption else {}
            st.metric(metric.label, metric.value, help=md.inline(metric.help), border=True, width="content", **quiet)


def jump_links(report: list[ReportSection]) -> None:
    """Links to each section of the report."""
    links = [f"[{section.title}](#{section.title.lower().replace(' ', '-')})" for section in report]
    st.markdown(" · ".join(links))
