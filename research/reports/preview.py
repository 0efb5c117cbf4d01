"""A saved job's key figure in a few words, for one cell of the history table.

A market report previews as its market size and leader, e.g. "USD 4.2 bn (2024) · leader Oatly 18 %";
a company batch as its size, e.g. "5 companies" or "5 companies · 1 failed". Plain text, never Markdown:
the history table shows cells as they are. Only what the result holds is shown; a result without any
figure (a failed run, or none at all) previews as "".
"""

from __future__ import annotations

from research.workflows import CompanyBatchResult, JobResult, MarketResearchResult

__all__ = ["history_preview"]

_SCALE_SHORT = {"thousand": "k", "million": "M", "billion": "bn", "trillion": "tn"}


def _amount(value: float) -> str:
    """A figure with one decimal at most: 4.25 → "4.2" (rounded as Python rounds), 120.0 → "120", 1500 → "1,500"."""
    return f"{value:,.1f}".removesuffix(".0")


def _market(result: MarketResearchResult) -> str:
    parts = []
    market, competitors = result.market.result, result.competitor.result
    if market is not None:
        size = market.market_size
        parts.append(f"{size.currency} {_amount(size.value)} {_SCALE_SHORT.get(size.scale, size.scale)} ({size.year})")
    if competitors is not None and competitors.parts:
        leader = competitors.largest()
        share = competitors.share_of(leader)
        parts.append(f"leader {leader.name}" + (f" {share:g} %" if share is not None else ""))
    return " · ".join(parts)


def _batch(result: CompanyBatchResult) -> str:
    if result.total == 0:
        return ""
    text = f"{result.total} compan{'y' if result.total == 1 else 'ies'}"
    return text + (f" · {result.failed} failed" if result.failed else "")


def history_preview(result: JobResult | None) -> str:
    """The job's headline figure as a short line of plain text ("" when its result holds none)."""
    if isinstance(result, MarketResearchResult):
        return _market(result)
    if isinstance(result, CompanyBatchResult):
        return _batch(result)
    return ""
