"""From a topic to an agent's evidence: its queries, the pages found, and the passages that matter.

:func:`queries_for` derives a few queries from the topic and what the agent
needs. :func:`gather_evidence` runs them at once on the configured search
backend, fetches the top pages concurrently, and keeps the passages most
relevant to the queries (numbers count extra: figures are what gets cited),
numbered E1, E2, … for the agent to cite. A failing search or page costs only
its own evidence and is noted; nothing here raises for a bad result.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from research.retrieval.types import Evidence, Page, Passage, SearchHit

QUERY_TEMPLATES: dict[str, tuple[str, ...]] = {
    "market": ("{topic} market size", "{topic} market growth forecast CAGR"),
    "competitor": ("{topic} competitors market share", "{topic} leading companies"),
    "customer": ("{topic} customer segments", "{topic} customer survey buying behaviour"),
    "company": ("{topic} annual revenue", "{topic} products and services", "{topic} news"),
}
"""The queries each agent's evidence comes from ("company" queries use the company name as topic)."""

MAX_PAGES = 4
MAX_PASSAGES = 8
PASSAGE_CHARS = 700
_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
_NUMBER = re.compile(r"\d")


class Searcher(Protocol):
    """What evidence gathering needs of a search backend."""

    name: str

    async def search(self, query: str, *, limit: int = 5) -> list[SearchHit]:
        """Hits for ``query``; raises an error with a plain-words message on failure."""
        ...


class Fetcher(Protocol):
    """What evidence gathering needs of a page fetcher."""

    async def fetch_all(self, urls: list[str]) -> list[Page]:
        """The pages at ``urls`` (never raises; a page that could not be read carries its error)."""
        ...


def queries_for(agent: str, topic: str) -> list[str]:
    """The queries for ``agent`` about ``topic`` (the topic is quoted data, never instructions)."""
    return [template.format(topic=topic) for template in QUERY_TEMPLATES[agent]]


def _chunks(text: str) -> list[str]:
    """Paragraph-sized pieces of a page, merged up to about :data:`PASSAGE_CHARS` characters."""
    pieces, current = [], ""
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n|\n", text)):
        if not paragraph:
            continue
        if current and len(current) + len(paragraph) > PASSAGE_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current}\n{paragraph}".strip()  # a heading stays a line of its own, not a sentence's start
        while len(current) > PASSAGE_CHARS * 1.5:
            cut = current.rfind(". ", 0, PASSAGE_CHARS) + 1 or PASSAGE_CHARS
            pieces.append(current[:cut].strip())
            current = current[cut:].strip()
    if current:
        pieces.append(current)
    return pieces


def _score(chunk: str, terms: set[str]) -> float:
    words = {w.lower() for w in _WORD.findall(chunk)}
    overlap = len(words & terms)
    return overlap + (1.5 if _NUMBER.search(chunk) else 0.0) + overlap * 0.1 * bool(_NUMBER.search(chunk))


def select_passages(pages: Sequence[Page], queries: Sequence[str], limit: int = MAX_PASSAGES,
                    per_page: int = 3) -> list[Passage]:
    """The passages most relevant to ``queries``, at most ``per_page`` from one page, numbered E1…"""
    terms = {w.lower() for query in queries for w in _WORD.findall(query)}
    scored: list[tuple[float, int, int, str, Page]] = []
    for page_index, page in enumerate(pages):
        if not page.ok:
            continue
        ranked = sorted(((_score(chunk, terms), i, chunk) for i, chunk in enumerate(_chunks(page.text))),
                        key=lambda item: (-item[0], item[1]))
        scored += [(score, page_index, i, chunk, page) for score, i, chunk in ranked[:per_page] if score > 0]
    best = sorted(scored, key=lambda item: (-item[0], item[1], item[2]))[:limit]
    best.sort(key=lambda item: (item[1], item[2]))  # in page order, so a page's passages stay together
    return [Passage(id=f"E{n}", url=page.final_url or page.url, title=page.title or page.url, text=chunk,
                    retrieved_at=page.retrieved_at) for n, (_s, _p, _i, chunk, page) in enumerate(best, 1)]


async def gather_evidence(agent: str, topic: str, searcher: Searcher, fetcher: Fetcher, *,
                          progress: Callable[[str], None] = lambda _message: None) -> Evidence:
    """Search, read and select ``agent``'s evidence about ``topic``; failures become notes."""
    queries = queries_for(agent, topic)
    progress(f"searching ({len(queries)} queries)")
    results = await asyncio.gather(*(searcher.search(q, limit=5) for q in queries), return_exceptions=True)
    notes: list[str] = []
    hits: dict[str, SearchHit] = {}
    for query, found in zip(queries, results):
        if isinstance(found, BaseException):
            notes.append(f"A search ({query!r}) failed: {found}.")
            continue
        for hit in found:
            hits.setdefault(hit.url, hit)
    urls = list(hits)[:MAX_PAGES]
    if not urls:
        notes.append("The search found no pages to read.")
        return Evidence(agent=agent, queries=queries, notes=notes)
    progress(f"reading {len(urls)} pages")
    pages = await fetcher.fetch_all(urls)
    for page in pages:
        if not page.ok:
            notes.append(f"A page ({hits[page.url].title or page.url}) could not be read: {page.error or 'no text'}.")
    for page in pages:  # the search's title and date where the page had none
        hit = hits.get(page.url)
        if hit is not None and not page.title:
            page.title = hit.title
    passages = select_passages(pages, queries)
    for passage in passages:
        hit = hits.get(passage.url)
        passage.published = hit.published if hit else None
    progress(f"analysing {len(passages)} passages from {sum(p.ok for p in pages)} pages")
    return Evidence(agent=agent, queries=queries, passages=passages, pages_read=sum(p.ok for p in pages), notes=notes)
