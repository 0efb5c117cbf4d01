"""What retrieval produces: search hits, fetched pages, and the numbered passages agents cite."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SearchHit(BaseModel):
    """One search result: where it is and what the search service said about it."""

    title: str
    url: str
    snippet: str = ""
    published: str | None = Field(default=None, description="Publication date as the service gave it, if any")


class Page(BaseModel):
    """A fetched page's main text (untrusted data, never instructions), or why it could not be read."""

    url: str
    final_url: str | None = None
    """Where the page was read after redirects."""
    title: str = ""
    text: str = ""
    content_type: str = ""
    retrieved_at: float
    error: str | None = None
    """Why the page could not be read, in plain words (e.g. "refused: a private address")."""

    @property
    def ok(self) -> bool:
        """True when the page's text was read."""
        return self.error is None and bool(self.text)


class Passage(BaseModel):
    """A numbered excerpt of a page, given to an agent as evidence it may cite by ``id``."""

    id: str
    """"E1", "E2", … unique within one agent's evidence."""
    url: str
    title: str
    text: str
    retrieved_at: float
    published: str | None = None


class Evidence(BaseModel):
    """One agent's evidence: the queries asked, the passages kept, and what went wrong on the way."""

    agent: str
    queries: list[str] = []
    passages: list[Passage] = []
    pages_read: int = 0
    notes: list[str] = []
    """What failed or was left out, in plain words (a search that timed out, a page that was refused)."""
    demo: bool = False
    """True for the offline demo's invented evidence."""

    def passage(self, passage_id: str) -> Passage | None:
        """The passage with this id, if it was given to the agent."""
        return next((p for p in self.passages if p.id == passage_id), None)


class SearchError(Exception):
    """A search failed; the message says why in plain words (e.g. "search timed out after 10 s")."""
