"""Web search backends against local test servers (127.0.0.1 only), and which backend the settings select."""

from __future__ import annotations

import json
import socket
import threading

import openai
import pytest

from research.config import ConfigError, SearchChoice, load_settings
from research.retrieval.search import NO_SEARCH, SearchBackend, chosen_search, search_backend, search_status
from research.retrieval.search_backends import DuckDuckGoSearch, OpenAIWebSearch, SearxngSearch, TavilySearch
from research.retrieval.types import SearchError, SearchHit
from tests.support.openai_server import Reply, StubOpenAIServer
from tests.support.search_server import SearchServer, result

QUERY = "electric vehicle charging market size Europe"
ROWS = [
    result("EV charging in Europe", "https://example.com/ev", "  The market grew\n 30 % in 2024. ", "2025-01-15T00:00:00"),
    result("Not a web page", "javascript:alert(1)", "dropped"),
    result("", "https://example.org/no-title", "untitled"),
    result("EV charging in Europe (again)", "https://example.com/ev", "a repeat"),
    result("Charging report", "https://example.net/report", "Report text."),
]
LOCAL = "http://localhost:11434/v1"


@pytest.fixture
def server():
    with SearchServer({QUERY: ROWS}) as running:
        yield running


async def _search(backend: SearchBackend, query: str = QUERY, limit: int = 5) -> list[SearchHit]:
    try:
        return await backend.search(query, limit=limit)
    finally:
        await backend.aclose()


async def _failure(backend: SearchBackend) -> str:
    with pytest.raises(SearchError) as info:
        await _search(backend)
    return str(info.value)


# SearXNG


async def test_searxng_hits_are_parsed(server: SearchServer) -> None:
    hits = await _search(SearxngSearch(server.base_url + "/"))
    assert hits == [
        SearchHit(title="EV charging in Europe", url="https://example.com/ev", snippet="The market grew 30 % in 2024.",
                  published="2025-01-15T00:00:00"),
        SearchHit(title="example.org", url="https://example.org/no-title", snippet="untitled"),
        SearchHit(title="Charging report", url="https://example.net/report", snippet="Report text."),
    ]
    (request,) = server.requests
    assert (request.api, request.query, request.params["format"]) == ("searxng", QUERY, "json")


async def test_searxng_keeps_to_the_limit_and_an_unknown_query_has_no_hits(server: SearchServer) -> None:
    assert [h.url for h in await _search(SearxngSearch(server.base_url), limit=1)] == ["https://example.com/ev"]
    assert await _search(SearxngSearch(server.base_url), query="nothing about this") == []


async def test_a_server_error_is_named_by_status_only(server: SearchServer) -> None:
    server.status = 502
    assert await _failure(SearxngSearch(server.base_url)) == "search service error (HTTP 502)"
    server.status = 403
    assert "HTTP 403: is the json format enabled" in await _failure(SearxngSearch(server.base_url))


async def test_a_silent_server_times_out_in_plain_words(server: SearchServer) -> None:
    server.hold = threading.Event()
    try:
        assert await _failure(SearxngSearch(server.base_url, timeout=0.2)) == "search timed out after 0.2 s"
    finally:
        server.hold.set()


async def test_malformed_json_is_an_unreadable_answer(server: SearchServer) -> None:
    server.malformed = True
    assert await _failure(SearxngSearch(server.base_url)) == "search service sent an answer that could not be read"


async def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as sock:  # bound but not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert await _failure(SearxngSearch(f"http://127.0.0.1:{port}")) == "search service unreachable"


# Tavily


async def test_tavily_sends_the_key_in_the_header_only_and_hits_are_parsed(server: SearchServer) -> None:
    backend = TavilySearch(server.tavily_key, base_url=server.base_url)
    assert server.tavily_key not in repr(backend) and server.tavily_key not in backend.name
    hits = await _search(backend, limit=3)
    assert [(h.title, h.url, h.published) for h in hits] == [
        ("EV charging in Europe", "https://example.com/ev", "2025-01-15T00:00:00"),
        ("example.org", "https://example.org/no-title", None)]
    (request,) = server.requests
    assert request.authorization == f"Bearer {server.tavily_key}"
    assert request.body == {"query": QUERY, "max_results": 3, "search_depth": "basic"}
    assert server.tavily_key not in json.dumps(request.body) and not request.params


async def test_a_wrong_tavily_key_is_reported_without_the_key(server: SearchServer) -> None:
    message = await _failure(TavilySearch("tvly-wrong-key", base_url=server.base_url))
    assert message == "search service error (HTTP 401: check TAVILY_API_KEY)"


# OpenAI's hosted web search, through the real openai client


CITED = ("The European charging market reached $5bn in 2024. ([IEA report](https://iea.example/ev))\n"
         "Fast chargers doubled. ([BNEF](https://bnef.example/fast))")
SOURCES = [{"url": "https://iea.example/ev", "title": "IEA report"},
           {"url": "https://bnef.example/fast", "title": "BNEF"},
           {"url": "https://other.example/found", "cited": False}]


def _client(stub: StubOpenAIServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=stub.base_url, max_retries=0)


async def test_openai_web_search_turns_sources_and_citations_into_hits() -> None:
    with StubOpenAIServer(lambda request: Reply(content=CITED, web_sources=SOURCES)) as stub:
        hits = await _search(OpenAIWebSearch(_client(stub), "gpt-4.1-mini", owns_client=True))
        (request,) = stub.requests
    assert [(h.title, h.url, h.snippet) for h in hits] == [
        ("IEA report", "https://iea.example/ev", "The European charging market reached $5bn in 2024."),
        ("BNEF", "https://bnef.example/fast", "Fast chargers doubled."),
        ("other.example", "https://other.example/found", ""),
    ]
    assert request.api == "responses" and request.model == "gpt-4.1-mini"
    assert request.body["tools"] == [{"type": "web_search"}]
    assert request.body["include"] == ["web_search_call.action.sources"]
    assert json.loads(request.user_text) == {"query": QUERY}  # the query is data, never in the instructions
    assert QUERY not in request.system


async def test_openai_web_search_errors_are_plain_words() -> None:
    with StubOpenAIServer(lambda request: Reply(status=500)) as stub:
        message = await _failure(OpenAIWebSearch(_client(stub), "gpt-4.1-mini", owns_client=True))
    assert message == "search service error (HTTP 500)"


async def test_the_stub_streams_web_search_items_the_client_parses() -> None:
    with StubOpenAIServer(lambda request: Reply(content=CITED, web_sources=SOURCES)) as stub:
        client = _client(stub)
        stream = await client.responses.create(model="m", input="q", tools=[{"type": "web_search"}], stream=True,
                                               include=["web_search_call.action.sources"])
        events = [event async for event in stream]
        await client.close()
    types = [e.type for e in events]
    assert types.index("response.web_search_call.completed") < types.index("response.output_text.delta")
    assert types.count("response.output_text.annotation.added") == 2
    call, message = events[-1].response.output
    assert [s.url for s in call.action.sources] == [s["url"] for s in SOURCES]
    assert [a.url for a in message.content[0].annotations] == ["https://iea.example/ev", "https://bnef.example/fast"]


# Which backend the settings select


@pytest.mark.parametrize(
    ("env", "choice", "kind"),
    [
        ({"OPENAI_API_KEY": "sk-x"}, SearchChoice.OPENAI, OpenAIWebSearch),
        ({"OPENAI_API_KEY": "sk-x", "SEARXNG_URL": "http://localhost:8080", "TAVILY_API_KEY": "tvly-x"},
         SearchChoice.OPENAI, OpenAIWebSearch),
        ({"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "https://api.openai.com/v1"}, SearchChoice.OPENAI, OpenAIWebSearch),
        ({"OPENAI_BASE_URL": LOCAL, "SEARXNG_URL": "http://localhost:8080/"}, SearchChoice.SEARXNG, SearxngSearch),
        ({"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": LOCAL, "SEARXNG_URL": "http://localhost:8080",
          "TAVILY_API_KEY": "tvly-x"}, SearchChoice.SEARXNG, SearxngSearch),
        ({"OPENAI_BASE_URL": LOCAL, "TAVILY_API_KEY": "tvly-x"}, SearchChoice.TAVILY, TavilySearch),
        ({"OPENAI_BASE_URL": LOCAL, "RESEARCH_SEARCH": "duckduckgo"}, SearchChoice.DUCKDUCKGO, DuckDuckGoSearch),
        ({"OPENAI_BASE_URL": LOCAL, "SEARXNG_URL": "http://localhost:8080", "RESEARCH_SEARCH": "tavily",
          "TAVILY_API_KEY": "tvly-x"}, SearchChoice.TAVILY, TavilySearch),
    ],
)
async def test_the_settings_select_a_backend(env, choice, kind) -> None:
    settings = load_settings(env)
    backend = search_backend(settings)
    try:
        assert chosen_search(settings) is choice and isinstance(backend, kind) and isinstance(backend, SearchBackend)
        assert search_status(settings) == f"Web search: {backend.name}"
    finally:
        await backend.aclose()


async def test_the_run_client_is_used_and_left_open() -> None:
    client = openai.AsyncOpenAI(api_key="sk-x", max_retries=0)
    backend = search_backend(load_settings({"OPENAI_API_KEY": "sk-x", "RESEARCH_MODEL": "gpt-5-mini"}), client)
    assert isinstance(backend, OpenAIWebSearch) and (backend.client, backend.model) == (client, "gpt-5-mini")
    await backend.aclose()
    assert not client.is_closed()
    await client.close()


@pytest.mark.parametrize(
    "env", [{"OPENAI_BASE_URL": LOCAL}, {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": LOCAL},
            {"OPENAI_API_KEY": "sk-x", "RESEARCH_SEARCH": "none"}, {}, {"OPENAI_API_KEY": "sk-x", "RESEARCH_DEMO": "1"}])
def test_no_backend_when_none_is_configured_chosen_or_wanted(env) -> None:
    settings = load_settings(env)
    assert search_backend(settings) is None
    status = search_status(settings)
    if settings.demo:
        assert status.startswith("Offline demo: no web search")
    elif settings.search is SearchChoice.NONE:
        assert status.startswith("Web search is off")
    else:
        assert status == NO_SEARCH and "model's own knowledge" in status


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENAI_BASE_URL": LOCAL, "RESEARCH_SEARCH": "searxng"}, "RESEARCH_SEARCH=searxng needs SEARXNG_URL"),
        ({"OPENAI_BASE_URL": LOCAL, "RESEARCH_SEARCH": "tavily"}, "RESEARCH_SEARCH=tavily needs TAVILY_API_KEY"),
        ({"OPENAI_BASE_URL": LOCAL, "RESEARCH_SEARCH": "openai"}, "RESEARCH_SEARCH=openai needs OPENAI_API_KEY"),
        ({"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": LOCAL, "RESEARCH_SEARCH": "OpenAI"}, "OPENAI_BASE_URL points at"),
    ],
)
def test_an_explicit_choice_without_its_requirement_is_a_config_error(env, message) -> None:
    settings = load_settings(env)
    with pytest.raises(ConfigError, match=message) as info:
        search_backend(settings)
    assert "\n" not in str(info.value)
    assert search_status(settings).startswith("Web search is not available: RESEARCH_SEARCH=")


def test_search_settings_are_read_and_keep_secrets_out_of_the_repr() -> None:
    settings = load_settings({"OPENAI_BASE_URL": LOCAL, "SEARXNG_URL": "https://me:hunter2@search.example:8443/sx/",
                              "TAVILY_API_KEY": "tvly-secret", "RESEARCH_FETCH_PRIVATE": "1"})
    assert (settings.search, settings.searxng_url, settings.fetch_private) == (
        SearchChoice.AUTO, "https://me:hunter2@search.example:8443/sx", True)
    assert settings.tavily_key is not None and settings.tavily_key.get_secret_value() == "tvly-secret"
    for text in (repr(settings), str(settings), search_status(settings)):
        assert "hunter2" not in text and "tvly-secret" not in text
    assert search_status(settings) == "Web search: SearXNG at https://search.example:8443/sx"
    assert load_settings({}).fetch_private is False and load_settings({}).search is SearchChoice.AUTO


@pytest.mark.parametrize(("env", "message"), [({"RESEARCH_SEARCH": "bing"}, "RESEARCH_SEARCH must be one of auto"),
                                              ({"SEARXNG_URL": "localhost:8080"}, "SEARXNG_URL must start with http"),
                                              ({"RESEARCH_FETCH_PRIVATE": "sometimes"}, "RESEARCH_FETCH_PRIVATE expected")])
def test_bad_search_settings_are_one_line_errors(env, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


# DuckDuckGo: only when chosen, and never a real request here


class _FakeDDGS:
    calls: list[tuple[str, dict]] = []
    error: Exception | None = None

    def __init__(self, **kwargs: object) -> None:
        pass

    def text(self, query: str, **kwargs: object) -> list[dict]:
        _FakeDDGS.calls.append((query, kwargs))
        if _FakeDDGS.error is not None:
            raise _FakeDDGS.error
        return [{"title": "A page", "href": "https://ddg.example/a", "body": "Some text."},
                {"title": "Ad", "href": "not-a-url", "body": ""}]


def test_auto_never_chooses_duckduckgo() -> None:
    for env in ({}, {"OPENAI_BASE_URL": LOCAL}, {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": LOCAL}):
        assert chosen_search(load_settings(env)) is not SearchChoice.DUCKDUCKGO


async def test_duckduckgo_uses_only_its_own_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    import ddgs
    from ddgs.exceptions import TimeoutException

    monkeypatch.setattr(ddgs, "DDGS", _FakeDDGS)
    monkeypatch.setattr(_FakeDDGS, "calls", [])
    hits = await _search(DuckDuckGoSearch(), limit=4)
    assert [(h.title, h.url, h.snippet) for h in hits] == [("A page", "https://ddg.example/a", "Some text.")]
    assert _FakeDDGS.calls == [(QUERY, {"max_results": 4, "backend": "duckduckgo"})]
    monkeypatch.setattr(_FakeDDGS, "error", TimeoutException("timed out"))
    assert await _failure(DuckDuckGoSearch(timeout=3)) == "search timed out after 3 s"
