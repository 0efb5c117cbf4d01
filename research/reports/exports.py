"""The files a finished job can be downloaded as, per workflow: one table the CLI and the pages share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from research.inputs import WorkflowKind
from research.reports.companies import render_batch_csv, render_batch_json, render_batch_markdown
from research.reports.market import render_json, render_markdown

if TYPE_CHECKING:
    from research.workflows.companies import CompanyBatchResult
    from research.workflows.market import MarketResearchResult


@dataclass(frozen=True)
class Export:
    """One download format of a job's result."""

    label: str
    extension: str
    mime: str
    render: Callable[[Any], str]


def render_market_html(result: MarketResearchResult) -> str:
    """The market report as one HTML page (:mod:`research.reports.html`, imported here on first use: it loads
    Plotly, which a command line that writes Markdown, JSON or CSV never needs)."""
    from research.reports.html import render_market_html as render

    return render(result)


def render_batch_html(result: CompanyBatchResult) -> str:
    """The company comparison as one HTML page (see :func:`render_market_html`)."""
    from research.reports.html import render_batch_html as render

    return render(result)


MARKDOWN, JSON, CSV, HTML = "md", "json", "csv", "html"
EXPORTS: dict[WorkflowKind, tuple[Export, ...]] = {
    WorkflowKind.MARKET: (Export("Download report (.md)", MARKDOWN, "text/markdown", render_markdown),
                          Export("Download report (.html)", HTML, "text/html", render_market_html),
                          Export("Download data (.json)", JSON, "application/json", render_json)),
    WorkflowKind.COMPANIES: (Export("Download report (.md)", MARKDOWN, "text/markdown", render_batch_markdown),
                             Export("Download report (.html)", HTML, "text/html", render_batch_html),
                             Export("Download table (.csv)", CSV, "text/csv", render_batch_csv),
                             Export("Download data (.json)", JSON, "application/json", render_batch_json)),
}
_PREFIX = {WorkflowKind.MARKET: "market-research", WorkflowKind.COMPANIES: "companies"}


def export(kind: WorkflowKind, extension: str) -> Export | None:
    """The export of ``kind`` jobs in the format ``extension``, if there is one."""
    return next((e for e in EXPORTS[kind] if e.extension == extension), None)


def download_name(kind: WorkflowKind, title: str, extension: str) -> str:
    """A safe file name for a download, e.g. 'market-research-plant-based-dairy.md'."""
    slug = "-".join("".join(ch if ch.isascii() and ch.isalnum() else " " for ch in title.lower()).split())[:60]
    return f"{_PREFIX[kind]}-{slug.strip('-') or 'report'}.{extension}"
