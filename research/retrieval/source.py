"""Where a run's evidence comes from: the configured web search and page fetcher, the demo, or nothing.

:func:`open_evidence` picks one for a run from the settings (inside the running
event loop, like the model clients). Every kind answers :meth:`EvidenceSource.gather`
with an :class:`~research.retrieval.types.Evidence` and never raises for a bad
search or page: what failed is noted in the evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from research.config import Settings
from research.providers.source import ModelSource
from research.retrieval.evidence import gather_evidence
from research.retrieval.fetch import PageFetcher
from research.retrieval.search import SearchBackend, search_backend, search_status
from research.retrieval.types import Evidence

Progress = Callable[[str], None]
FETCH_CONCURRENCY = 16
"""Pages read at once in a run: a market run's three agents read up to 4 pages each, all at once."""


class EvidenceSource:
    """No web search: every agent's evidence is empty and says why."""

    replayable = True
    """Whether gathering again gives the same evidence at no cost (no search, no page, no date in it): a durable
    job then need not record it."""

    def __init__(self, status: str = "No web search is configured: figures are the model's own estimates.") -> None:
        self.status = status

    async def gather(self, agent: str, topic: str, progress: Progress) -> Evidence:
        """Evidence for ``agent`` about ``topic``: none (the report's grounding line says why)."""
        return Evidence(agent=agent)

    async def aclose(self) -> None:
        """Release what the source holds."""


class DemoEvidence(EvidenceSource):
    """The offline demo's invented, labelled passages."""

    replayable = False  # they are dated today

    def __init__(self, today: dt.date) -> None:
        super().__init__("Demo evidence: invented for the offline demo, not web sources.")
        self._today = today

    async def gather(self, agent: str, topic: str, progress: Progress) -> Evidence:
        """The demo passages stating the demo's figures."""
        from research.providers.demo_evidence import demo_evidence

        return demo_evidence(agent, topic, self._today)


class WebEvidence(EvidenceSource):
    """The configured search backend and a page fetcher shared by every agent of the run."""

    replayable = False

    def __init__(self, searcher: SearchBackend, fetcher: PageFetcher, status: str) -> None:
        super().__init__(status)
        self._searcher, self._fetcher = searcher, fetcher

    async def gather(self, agent: str, topic: str, progress: Progress) -> Evidence:
        """Search, read the top pages, keep the most relevant passages."""
        return await gather_evidence(agent, topic, self._searcher, self._fetcher, progress=progress)

    async def aclose(self) -> None:
        """Close the search and page clients."""
        await self._searcher.aclose()
        await self._fetcher.aclose()


def open_evidence(settings: Settings, models: ModelSource) -> EvidenceSource:
    """The evidence source the settings select for one run (call it inside the running event loop)."""
    if models.is_demo:
        return DemoEvidence(dt.date.today())
    if models.client is None:  # models a caller supplied (e.g. test doubles): no web search behind them
        return EvidenceSource()
    searcher = search_backend(settings, models.client)
    if searcher is None:
        return EvidenceSource(search_status(settings))
    fetcher = PageFetcher(allow_private=settings.fetch_private, concurrency=FETCH_CONCURRENCY)
    return WebEvidence(searcher, fetcher, search_status(settings))
