"""Evidence for the offline demo: passages invented from the demo's own figures, and labelled as such.

The demo has no web search, so each agent gets one or two passages that state
its demo figures, titled as demo sources with no link. The demo model cites
them, so the demo shows what a grounded report looks like — figures with
their sources and the sentences that state them — without ever presenting
invented text as research: every demo figure is *illustrative*, never verified.
"""

from __future__ import annotations

import datetime as dt
import time

from research.providers.demo_companies import demo_company
from research.providers.demo_content import demo_competitors, demo_customers, demo_market
from research.retrieval.types import Evidence, Passage

DEMO_SOURCE_TITLE = "Demo source (invented for the offline demo; not a publication), passage"


def _passage(number: int, text: str) -> Passage:
    return Passage(id=f"E{number}", url="", title=f"{DEMO_SOURCE_TITLE} {number}", text=text, retrieved_at=time.time())


def demo_evidence(agent: str, topic: str, today: dt.date) -> Evidence:
    """The demo passages for ``agent`` about ``topic`` (for "company", the topic is the company's name)."""
    if agent == "market":
        data = demo_market(topic, today)
        size, growth = data.market_size, data.growth
        texts = [f"The market was worth about {size.currency} {size.value:g} {size.scale} in {size.year}.",
                 f"The market is expected to grow by {growth.cagr_percent:g} % a year from {growth.start_year} to "
                 f"{growth.end_year}."]
    elif agent == "competitor":
        shares = "; ".join(f"{c.name} {c.market_share_percent:g} %" for c in demo_competitors(topic, today).competitors
                           if c.market_share_percent is not None)
        texts = [f"Estimated market shares: {shares}."]
    elif agent == "customer":
        shares = "; ".join(f"{s.name} {s.share_percent:g} %" for s in demo_customers(topic, today).segments
                           if s.share_percent is not None)
        texts = [f"Share of customers by segment: {shares}."]
    else:
        profile = demo_company(topic, today)
        revenue = profile.revenue_estimate_usd_millions
        texts = [f"{profile.name}: illustrative annual revenue of about {revenue:g} million USD (a demo placeholder)."
                 if revenue is not None else "No revenue figure."]
    passages = [_passage(n, text) for n, text in enumerate(texts, 1)]
    return Evidence(agent=agent, queries=[], passages=passages, pages_read=0, demo=True)
