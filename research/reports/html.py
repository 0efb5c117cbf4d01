"""Render a run as one self-contained HTML file: the Markdown report's parts, with interactive charts.

The HTML is built from the same Markdown parts as the ``.md`` download (already escaped by
:mod:`research.reports.markdown`), rendered by markdown-it-py with raw HTML, autolinks,
linkify and images off, so nothing a user or model wrote can become markup or a link; only the
sources' http(s) addresses are links (an address a model wrote is inline code, see
:mod:`research.reports.markdown`). Each chart is the page's Plotly figure, drawn by plotly.js
inlined once in the head: the "basic" bundle (bar, pie and scatter traces, about 1.2 MB, vendored
in ``assets/``) when every chart needs only those, else the full bundle of the plotly package
(about 4.8 MB). The file loads nothing from anywhere: no external script, style, font or image,
and a Content-Security-Policy that blocks every network load.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import plotly.io as pio
from markdown_it import MarkdownIt
from plotly.graph_objects import Figure
from plotly.offline import get_plotlyjs

from research.reports.changes import render_changes
from research.reports.charts import SECTION_CHARTS, company_profiles, company_revenue_chart
from research.reports.companies import batch_report_parts
from research.reports.market import report_head, run_details, section_details, section_intro
from research.reports.sections import ReportSection, report_sections
from research.reports.texts import DEMO_NOTICE
from research.workflows.companies import CompanyBatchResult
from research.workflows.market import MarketResearchResult

CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
       "base-uri 'none'; form-action 'none'")
"""Inline scripts and styles only, images only from data: URLs; no request may leave the file."""

CHART_CONFIG = {"displaylogo": False, "responsive": True}
PLOTLY_BASIC_JS = Path(__file__).with_name("assets") / "plotly-basic.min.js"
"""plotly.js's "basic" bundle, the same plotly.js version as the plotly package's (see assets/README.md)."""
PLOTLY_BASIC_TRACES = frozenset({"bar", "pie", "scatter"})
"""The trace types the basic bundle draws; a chart with any other type gets the full bundle."""
_NO_PAGE_BREAK = {"executive_summary"}  # printed on the first page, under the title

STYLE = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #1f4e79; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.55; font-size: 16px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
main { max-width: 56rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
h1 { font-size: 1.9rem; line-height: 1.25; margin: 0 0 .5rem; color: var(--accent); }
h2 { font-size: 1.4rem; margin: 2.5rem 0 .75rem; padding-bottom: .3rem; border-bottom: 1px solid var(--line);
  color: var(--accent); }
h3 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; }
p, ul, ol, blockquote, table { margin: 0 0 1rem; }
blockquote { margin-left: 0; padding: .6rem 1rem; border-left: 4px solid #d4a72c; background: #fff8c5; }
blockquote p { margin: 0; }
a { color: #0969da; overflow-wrap: anywhere; }
code { font-size: .9em; padding: 0 .2em; border-radius: 3px; background: #f6f8fa; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; }
tbody tr:nth-child(even) { background: #fbfcfd; }
.table-wrap { overflow-x: auto; }
figure.chart { margin: 1rem 0 1.5rem; }
.watermark { position: fixed; inset: 0; display: flex; align-items: center; justify-content: center;
  pointer-events: none; z-index: 10; font-size: 9rem; font-weight: 800; letter-spacing: .1em;
  color: rgba(190, 30, 30, .07); transform: rotate(-30deg); white-space: nowrap; user-select: none; }
@page { margin: 14mm; }
@media print {
  body { font-size: 10.5pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  section.page-break { break-before: page; }
  h2 { margin-top: 0; }
  h2, h3, h4 { break-after: avoid; }
  figure.chart, blockquote, tr, li { break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  figure.chart { zoom: .8; }
  .modebar-container { display: none !important; }
  a { color: inherit; }
  a[href^="http"]::after { content: " <" attr(href) ">"; font-size: 85%; color: var(--muted); word-break: break-all; }
  .watermark { position: fixed; font-size: 7rem; }
}
"""


def _link_attributes(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
    """Source links open in a new tab and tell the target nothing about where they came from."""
    tokens[index].attrSet("target", "_blank")
    tokens[index].attrSet("rel", "noopener noreferrer")
    return renderer.renderToken(tokens, index, options, env)


@functools.cache
def _renderer() -> MarkdownIt:
    """CommonMark plus tables, with raw HTML, autolinks, linkify and images off, and http(s) links only."""
    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    renderer.enable("table").disable(["image", "autolink", "html_block", "html_inline"])
    renderer.validateLink = lambda url: url.strip().lower().startswith(("http://", "https://"))  # type: ignore[method-assign]
    renderer.add_render_rule("link_open", _link_attributes)
    return renderer


def markdown_html(text: str) -> str:
    """Escaped Markdown (as :mod:`research.reports.markdown` writes it) as HTML; tables scroll when too wide."""
    rendered = _renderer().render(text)
    return rendered.replace("<table>", '<div class="table-wrap"><table>').replace("</table>", "</table></div>")


def chart_html(figure: Figure, name: str) -> str:
    """An interactive chart, drawn by the page's inline plotly.js (none is included here)."""
    div = pio.to_html(figure, full_html=False, include_plotlyjs=False, config=CHART_CONFIG,
                      div_id=f"chart-{name}", default_width="100%")
    return f'<figure class="chart">{div}</figure>'


@functools.cache
def plotly_js(basic: bool = True) -> str:
    """plotly.js, safe to place inside a <script> element: the basic bundle, or (``basic=False``) the full one."""
    code = PLOTLY_BASIC_JS.read_text(encoding="utf-8") if basic else get_plotlyjs()
    return code.replace("</script", "<\\/script")


def trace_types(figures: Iterable[Figure]) -> set[str]:
    """The trace types ``figures`` draw ("bar", "scatter", …)."""
    return {trace.type for figure in figures for trace in figure.data}


def _page(title: str, blocks: Sequence[str], *, demo: bool, traces: set[str]) -> str:
    """The whole document: head (CSP, title, style, plotly.js when ``traces`` has any) and body."""
    head = ['<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(' '.join(title.split()))}</title>",
            f"<style>{STYLE}</style>"]
    if traces:
        head.append(f'<script type="text/javascript">{plotly_js(traces <= PLOTLY_BASIC_TRACES)}</script>')
    body = [f'<div class="watermark" aria-hidden="true" title="{html.escape(DEMO_NOTICE)}">DEMO DATA</div>'] if demo else []
    body.append("<main>")
    body += blocks
    body.append("</main>")
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n' + "\n".join(head) + "\n</head>\n"
            + ('<body class="demo">\n' if demo else "<body>\n") + "\n".join(body) + "\n</body>\n</html>\n")


def _section(key: str, content: str, *, page_break: bool) -> str:
    classes = ' class="page-break"' if page_break else ""
    return f'<section id="{html.escape(key)}"{classes}>\n{content}</section>'


def section_html(section: ReportSection) -> tuple[str, Figure | None]:
    """One report section as HTML (heading, intro, chart, details), and its chart if it has one."""
    parts = [markdown_html(f"## {section.title}"), markdown_html(section_intro(section))]
    chart = SECTION_CHARTS[type(section.data)](section.data) if section.data is not None else None
    if chart is not None:
        parts.append(chart_html(chart, section.key))
    parts.append(markdown_html(section_details(section)))
    return _section(section.key, "".join(parts), page_break=section.key not in _NO_PAGE_BREAK), chart


def render_market_html(result: MarketResearchResult) -> str:
    """The market report as one self-contained HTML file: the Markdown report's parts plus interactive charts."""
    head = markdown_html("\n\n".join(report_head(result)))
    blocks = [f"<header>\n{head}</header>"]
    if result.changes is not None:
        blocks.append(_section("changes", markdown_html(render_changes(result.changes)), page_break=False))
    charts = []
    for section in report_sections(result):
        block, chart = section_html(section)
        blocks.append(block)
        charts += [chart] if chart is not None else []
    footer = run_details(result) + (f"\n\n_{DEMO_NOTICE}_" if result.demo else "")
    blocks.append(_section("run-details", markdown_html(footer), page_break=False))
    return _page(f"Market research: {result.topic}", blocks, demo=result.demo, traces=trace_types(charts))


def render_batch_html(result: CompanyBatchResult) -> str:
    """The company batch report as one self-contained HTML file, with the revenue chart after the comparison."""
    parts = batch_report_parts(result)
    profiles = company_profiles(result)
    comparison = markdown_html(parts.comparison)
    charts = [company_revenue_chart(profiles)] if profiles else []
    for chart in charts:
        comparison += chart_html(chart, "revenue")
    comparison += markdown_html(parts.table)
    blocks = [f"<header>\n{markdown_html(parts.head)}</header>",
              *([_section("changes", markdown_html(parts.changes), page_break=False)] if parts.changes else []),
              _section("comparison", comparison, page_break=False),
              _section("profiles", markdown_html(parts.profiles), page_break=True),
              _section("run-details", markdown_html(parts.details), page_break=False)]
    return _page(f"Company research: {result.title}", blocks, demo=result.demo, traces=trace_types(charts))
