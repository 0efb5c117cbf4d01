"""Web search for grounded research: the backend interface, which backend the settings select, and a status line.

``RESEARCH_SEARCH`` chooses the backend: ``auto`` (the default) uses OpenAI's hosted web search when the
model server is OpenAI itself, else a self-hosted SearXNG if ``SEARXNG_URL`` is set, else Tavily if
``TAVILY_API_KEY`` is set, else nothing. DuckDuckGo is used only when chosen explicitly, so a topic never
goes to a search service the user did not configure. The backends live in
:mod:`research.retrieval.search_backends`.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import urlsplit

from research.config import DEFAULT_OPENAI_MODEL, ConfigError, SearchChoice, Settings
from research.retrieval.types import SearchHit

if TYPE_CHECKING:
    import openai

OPENAI_HOST = "api.openai.com"
NO_SEARCH = ("No web search is configured: figures come from the model's own knowledge. Set SEARXNG_URL "
             "(self-hosted SearXNG) or TAVILY_API_KEY, or use an OpenAI key, to ground reports in fetched sources.")


@runtime_checkable
class SearchBackend(Protocol):
    """A web search service: one query in, a few hits out."""

    name: str
    """What to call it in the status line and the report, e.g. "SearXNG at http://localhost:8080" (never a key)."""

    async def search(self, query: str, *, limit: int = 5) -> list[SearchHit]:
        """Up to ``limit`` hits for ``query``; raises :class:`SearchError` on failure."""
        ...

    async def aclose(self) -> None:
        """Release the backend's connections."""
        ...


def is_openai_itself(settings: Settings) -> bool:
    """True when the model server is OpenAI: an API key, and no base URL other than OpenAI's."""
    if not settings.key:
        return False
    return not settings.base_url or urlsplit(settings.base_url).hostname == OPENAI_HOST


def _require(choice: SearchChoice, settings: Settings) -> None:
    """Raise :class:`ConfigError` when an explicitly chosen backend lacks what it needs."""
    needs = f"RESEARCH_SEARCH={choice.value} needs"
    if choice is SearchChoice.OPENAI and not settings.key:
        raise ConfigError(f"{needs} OPENAI_API_KEY (OpenAI's hosted web search); or set SEARXNG_URL or TAVILY_API_KEY")
    if choice is SearchChoice.OPENAI and not is_openai_itself(settings):
        raise ConfigError(f"{needs} OpenAI itself, but OPENAI_BASE_URL points at another server; "
                          "use RESEARCH_SEARCH=searxng or tavily with it")
    if choice is SearchChoice.SEARXNG and not settings.searxng_url:
        raise ConfigError(f"{needs} SEARXNG_URL, the address of a SearXNG instance (e.g. http://localhost:8080)")
    if choice is SearchChoice.TAVILY and not settings.tavily_key:
        raise ConfigError(f"{needs} TAVILY_API_KEY")
    if choice is SearchChoice.DUCKDUCKGO and importlib.util.find_spec("ddgs") is None:
        raise ConfigError(f"{needs} the ddgs package: pip install ddgs")


def chosen_search(settings: Settings) -> SearchChoice | None:
    """The backend the settings select (never ``auto``), or None for no web search; no network access.

    The offline demo never searches. Raises :class:`ConfigError` when an explicit choice lacks its requirement.
    """
    choice = settings.search
    if settings.demo or choice is SearchChoice.NONE:
        return None
    if choice is SearchChoice.AUTO:
        if is_openai_itself(settings):
            return SearchChoice.OPENAI
        if settings.searxng_url:
            return SearchChoice.SEARXNG
        return SearchChoice.TAVILY if settings.tavily_key else None
    _require(choice, settings)
    return choice


def search_backend(settings: Settings, client: openai.AsyncOpenAI | None = None) -> SearchBackend | None:
    """The search backend the settings select, or None when there is none (see :func:`chosen_search`).

    ``client`` is the run's OpenAI client, used for OpenAI's hosted web search; without one, the backend
    opens its own (and closes it in ``aclose``). Raises :class:`ConfigError` for a choice that cannot work.
    """
    from research.retrieval import search_backends as backends

    choice = chosen_search(settings)
    if choice is SearchChoice.OPENAI:
        owns = client is None
        if client is None:
            import openai

            client = openai.AsyncOpenAI(api_key=settings.key, base_url=settings.base_url, max_retries=0)
        return backends.OpenAIWebSearch(client, settings.model or DEFAULT_OPENAI_MODEL, owns_client=owns)
    if choice is SearchChoice.SEARXNG:
        return backends.SearxngSearch(settings.searxng_url or "")
    if choice is SearchChoice.TAVILY:
        return backends.TavilySearch(settings.tavily_key.get_secret_value() if settings.tavily_key else "")
    if choice is SearchChoice.DUCKDUCKGO:
        return backends.DuckDuckGoSearch()
    return None


def available_searches(settings: Settings) -> list[SearchChoice]:
    """The web searches a person may choose for one run with these settings, the settings' own choice first:
    each configured backend, DuckDuckGo (when its package is installed; nothing configures it), and none.
    Empty for the offline demo, which never searches."""
    if settings.demo:
        return []
    try:
        default = chosen_search(settings) or SearchChoice.NONE
    except ConfigError:
        default = SearchChoice.NONE
    usable = [SearchChoice.OPENAI] if is_openai_itself(settings) else []
    usable += [SearchChoice.SEARXNG] if settings.searxng_url else []
    usable += [SearchChoice.TAVILY] if settings.tavily_key else []
    usable += [SearchChoice.DUCKDUCKGO] if importlib.util.find_spec("ddgs") is not None else []
    return [default, *(c for c in [*usable, SearchChoice.NONE] if c is not default)]


def search_label(choice: SearchChoice, settings: Settings) -> str:
    """A web search as a person chooses it: its name, and where the run's queries go."""
    from research.retrieval.search_backends import searxng_name

    return {
        SearchChoice.OPENAI: "OpenAI web search (queries go to OpenAI with the model's requests)",
        SearchChoice.SEARXNG: f"{searxng_name(settings.searxng_url or '')} (your own search service)",
        SearchChoice.TAVILY: "Tavily (queries go to Tavily with your key)",
        SearchChoice.DUCKDUCKGO: "DuckDuckGo (search queries made from the topic go to DuckDuckGo; no key)",
        SearchChoice.NONE: "None: the model's own knowledge, no sources fetched",
        SearchChoice.AUTO: "Automatic",
    }[choice]


def search_status(settings: Settings) -> str:
    """One line for the report and the sidebar: which web search grounds the research, or that none does."""
    from research.retrieval.search_backends import DuckDuckGoSearch, OpenAIWebSearch, TavilySearch, searxng_name

    if settings.demo:
        return "Offline demo: no web search (the demo's sources are illustrative, never fetched)."
    if settings.search is SearchChoice.NONE:
        return "Web search is off (RESEARCH_SEARCH=none): figures come from the model's own knowledge."
    try:
        choice = chosen_search(settings)
    except ConfigError as exc:
        return f"Web search is not available: {exc}"
    names = {SearchChoice.OPENAI: OpenAIWebSearch.name, SearchChoice.TAVILY: TavilySearch.name,
             SearchChoice.DUCKDUCKGO: DuckDuckGoSearch.name}
    if choice is None:
        return NO_SEARCH
    name = searxng_name(settings.searxng_url or "") if choice is SearchChoice.SEARXNG else names[choice]
    return f"Web search: {name}"
