"""Typed requests for tests that write history rows directly."""

from __future__ import annotations

from research.inputs import CompanyRequest, MarketRequest


def request_for(kind: str, title: str) -> MarketRequest | CompanyRequest:
    """The request a row of ``kind`` titled ``title`` stands for (a test's batch titles are its names, comma-separated)."""
    if kind == "companies":
        return CompanyRequest(names=tuple(title.split(", ")))
    return MarketRequest(topic=title)
