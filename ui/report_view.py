"""The finished report: the engine's Markdown, charts beside their sections, downloads."""

from __future__ import annotations

import re

import streamlit as st
from plotly.graph_objects import Figure

from research.reports.charts import competitor_share_chart, market_size_chart, segment_chart
from research.reports.market import download_name, render_json, render_markdown
from research.workflows.market import MarketResearchResult

CHART_AFTER = {"Market Overview": "market", "Competitive Landscape": "competitor", "Customer Segments": "customer"}


def charts_for(result: MarketResearchResult) -> dict[str, Figure]:
    """The figures that exist for this result, keyed by agent."""
    builders = {"market": market_size_chart, "competitor": competitor_share_chart, "customer": segment_chart}
    return {o.key: builders[o.key](o.result) for o in result.research if o.ok and o.result is not None}


def downloads(result: MarketResearchResult, key: str) -> None:
    """The Markdown and JSON download buttons."""
    row = st.container(horizontal=True)
    row.download_button("Download report (.md)", data=render_markdown(result), file_name=download_name(result.topic, "md"),
                         mime="text/markdown", key=f"md-{key}", on_click="ignore", type="primary", icon=":material/download:")
    row.download_button("Download data (.json)", data=render_json(result), file_name=download_name(result.topic, "json"),
                          mime="application/json", key=f"json-{key}", on_click="ignore", icon=":material/download:")


def report(result: MarketResearchResult, key: str) -> None:
    """Draw the report exactly as the downloadable Markdown, with each chart after its section."""
    figures = charts_for(result)
    for part in re.split(r"(?m)^(?=## )", render_markdown(result)):
        st.markdown(part)
        heading = part.splitlines()[0].removeprefix("## ").strip() if part.startswith("## ") else ""
        agent = CHART_AFTER.get(heading)
        if agent in figures:
            st.plotly_chart(figures[agent], key=f"chart-{agent}-{key}", config={"displaylogo": False})
