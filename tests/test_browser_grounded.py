"""A grounded report in a real browser: web search, fetched pages and checked figures as a user sees them.

The page server (an article, a PDF, a 404) and a SearXNG-compatible search server run on 127.0.0.1
beside the OpenAI-compatible test server; ``streamlit run app.py`` is started with
``RESEARCH_SEARCH=searxng`` and ``RESEARCH_FETCH_PRIVATE=1`` so the app's fetcher may read them.
The market agent cites the passage holding its figures (verified), the customer agent cites a
passage without its numbers (cited, not found) and the competitor agent cites nothing (estimates).
Chromium must show the grounding line, the three statuses in the tables, the sentence a verified
figure rests on, the sources as links to
the article, and must never send a request beyond 127.0.0.1 (requests beyond it are recorded and
aborted).
Screenshots go to ``artifacts/screenshots/grounded-report*.png``, the server's output to
``artifacts/browser-tests/streamlit-grounded.log``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from browser import (
    ARTIFACTS,
    StreamlitApp,
    exceptions,
    generate_button,
    heading,
    launch_chromium,
    require_chromium,
    screenshot,
    server_errors,
    topic_box,
)
from playwright.sync_api import Locator, Page, expect, sync_playwright
from stub import Plan

from tests.support.grounded import grounded_responder
from tests.support.openai_server import StubOpenAIServer
from tests.support.page_server import PageServer
from tests.support.search_server import SearchServer, result

TOPIC = "Heat pumps in Europe"
WAIT = 20_000  # ms: upper bound for any one UI wait (the run takes a few seconds)
SHOT = {"width": 1400, "height": 1000}
LOG = ARTIFACTS / "browser-tests" / "streamlit-grounded.log"
LOCAL = ("http://127.0.0.1", "http://localhost", "ws://127.0.0.1", "ws://localhost", "data:", "blob:", "about:")
VERIFIED, NOT_FOUND, ESTIMATE = "✓ verified", "⚠ cited, not found in source", "(estimate)"


def linking_competitor(answer: dict) -> None:
    """The competitor agent cites nothing (estimates) and writes web addresses into its text."""
    for competitor in answer["competitors"]:
        competitor["cites"] = []
        competitor["positioning"] = "See https://invented.example/study and www.invented.example"
    answer["sources"] = []


grounded_model = grounded_responder(Plan(), linking_competitor)


@dataclass
class Grounded:
    """The finished grounded report in Chromium, and what the servers and the browser saw on the way."""

    page: Page
    app_url: str
    article: str
    requested: list[str]  # every URL the browser requested (pages, scripts, images, fetch/XHR, WebSockets)
    queries: list[str]  # what the app asked the search server
    fetched: list[str]  # the paths the app read from the page server


@pytest.fixture(scope="module")
def grounded(tmp_path_factory) -> Iterator[Grounded]:
    """Page, search and model servers on 127.0.0.1, the app pointed at them, and a report generated in Chromium."""
    require_chromium()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.unlink(missing_ok=True)
    with PageServer() as pages, StubOpenAIServer(grounded_model) as model:
        hits = [result("Heat pump market 2024", pages.url("/article"), "market size", "2025-01-15"),
                result("Heat pump report (PDF)", pages.url("/report.pdf")), result("Gone", pages.url("/gone"))]
        with SearchServer(default=hits) as search, sync_playwright() as playwright:
            env = {"RESEARCH_SEARCH": "searxng", "SEARXNG_URL": search.base_url, "RESEARCH_FETCH_PRIVATE": "1"}
            with StreamlitApp(model.base_url, tmp_path_factory.mktemp("grounded-data"), log_path=LOG,
                              extra_env=env) as app:
                browser = launch_chromium(playwright)
                context = browser.new_context(viewport=SHOT)
                context.set_default_timeout(WAIT)
                requested: list[str] = []
                context.on("request", lambda request: requested.append(request.url))
                context.route(lambda url: not url.startswith(LOCAL), lambda route: route.abort())  # recorded, never sent
                page = context.new_page()
                page.on("websocket", lambda socket: requested.append(socket.url))
                try:
                    page.goto(app.url + "/")
                    expect(topic_box(page).or_(exceptions(page)).first).to_be_visible()
                    topic_box(page).fill(TOPIC)
                    generate_button(page).click()
                    expect(heading(page, TOPIC).or_(exceptions(page)).first).to_be_visible(timeout=WAIT)
                    yield Grounded(page, app.url, pages.url("/article"), requested, search.queries, pages.paths)
                finally:
                    context.close()
                    browser.close()


def table_cell(page: Page, text: str) -> Locator:
    """The report's table cells (rendered Markdown) holding ``text``."""
    return page.locator('[data-testid="stMarkdown"] table td', has_text=text)


def test_a_grounded_report_shows_checked_figures_and_links_its_sources(grounded) -> None:
    page = grounded.page
    shown = exceptions(page).first.inner_text()[:300] if exceptions(page).count() else ""
    assert not shown, f"the page shows an exception: {shown}"
    assert grounded.queries, "the app never searched"
    assert "/article" in grounded.fetched, "the app never read the article"

    grounding = page.get_by_text(re.compile(r"^Grounding: 2 of \d+ figures verified against 1 source;"))
    expect(grounding).to_be_visible()
    expect(grounding).to_contain_text("cited, not found in source")
    expect(grounding).to_contain_text("estimates")

    verified = table_cell(page, "23.70 billion EUR")  # the market size, from the article's passage
    expect(verified).to_contain_text(VERIFIED)
    expect(table_cell(page, "12.5 % per year")).to_contain_text(VERIFIED)
    not_found, estimate = table_cell(page, NOT_FOUND).first, table_cell(page, ESTIMATE).first
    for cell in (not_found, estimate):  # customer shares: not found; competitor shares: estimates
        expect(cell).to_be_visible()
        expect(cell).not_to_contain_text(VERIFIED)
    for cell in (verified, estimate):
        expect(cell).not_to_contain_text("⚠")
    expect(page.get_by_text("No source backs these figures: they are estimates.")).to_be_visible()
    said = page.locator('[data-testid="stMarkdown"] li', has_text="Market size ✓")  # the sentence it rests on
    expect(said).to_have_text(re.compile(r"^Market size ✓ — E\d \(Heat pumps in Europe, 2024\): “The European heat "
                                         r"pump market reached EUR 23\.7 billion in 2024, growing 12\.5 % a year\.”$"))

    links = page.locator(f'a[href="{grounded.article}"]')  # market and customer sources: the article
    expect(links.first).to_be_visible()
    expect(links).to_have_text(["Heat pumps in Europe, 2024"] * 2)  # the fetched page's own title
    sources = page.locator('[data-testid="stMarkdown"] li').filter(has=links)
    expect(sources).to_have_text([re.compile(r"^Heat pumps in Europe, 2024 — retrieved \d{4}-\d{2}-\d{2}$")] * 2)

    verified.evaluate("cell => cell.closest('table').scrollIntoView({block: 'start'})")
    expect(verified).to_be_in_viewport()
    screenshot(page, "grounded-report")
    estimate.evaluate("cell => cell.closest('table').scrollIntoView({block: 'start'})")
    screenshot(page, "grounded-report-estimates")
    not_found.evaluate("cell => cell.closest('table').scrollIntoView({block: 'start'})")
    screenshot(page, "grounded-report-not-found")
    expect(page.get_by_text("See https://invented.example/study").first).to_be_visible()
    assert page.locator('a[href*="invented.example"]').count() == 0, "an address a model wrote never becomes a link"
    errors = server_errors(LOG)
    assert not errors, f"the app raised (see {LOG}): {errors}"


def test_the_browser_requests_nothing_beyond_127_0_0_1(grounded) -> None:
    expect(heading(grounded.page, TOPIC)).to_be_visible()
    requested = list(grounded.requested)
    assert any(url.startswith(grounded.app_url) for url in requested), "no request to the app was recorded"
    outside = [url for url in requested if not url.startswith(LOCAL)]
    assert not outside, f"the browser sent requests beyond 127.0.0.1: {sorted(set(outside))[:5]}"
