"""The Research page as a newcomer meets it, in Chromium at 1024×768 and 1400×1000.

A pasted topic over the limit is refused with a message that names the limit (the text stays in the
box); a run cancelled before anything finished says so, with no empty report; a finished report opens
with its title and headline figures on the first screen; an example topic is one click to a report;
the server log has no fragment noise. Screenshots go to ``artifacts/screenshots/research-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from browser import (
    ARTIFACTS,
    StreamlitApp,
    exceptions,
    generate_button,
    heading,
    log_size,
    require_chromium,
    screenshot,
    server_errors,
    topic_box,
)
from playwright.sync_api import Page, expect
from stub import Plan, agent_of, serve

from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest

WAIT = 20_000  # ms: an upper bound for one UI wait (a run takes a few seconds)
LOG = ARTIFACTS / "browser-tests" / "streamlit-research.log"
SIZES = {"1024x768": {"width": 1024, "height": 768}, "1400x1000": {"width": 1400, "height": 1000}}
HANGING = "Hanging research topic"
"""Requests of the research agents about this topic never answer (a run to cancel before anything finished)."""
SLOW_CUSTOMERS = "Slow customer research"
"""The customer agent's requests about this topic never answer (a run that has spent something, to cancel)."""


@pytest.fixture(scope="module")
def stub() -> Iterator[StubOpenAIServer]:
    with serve(Plan(latency={"market": 0.3, "competitor": 0.4, "customer": 0.5})) as server:
        planned = server.responder

        def respond(request: StubRequest) -> Reply:
            agent = agent_of(request)
            if (HANGING in request.user_text and agent in ("market", "competitor", "customer")) or \
                    (SLOW_CUSTOMERS in request.user_text and agent == "customer"):
                return Reply(hang=True)  # until the run is cancelled (the client disconnects)
            return planned(request)

        server.responder = respond
        yield server


@pytest.fixture(scope="module")
def app(stub, tmp_path_factory) -> Iterator[StreamlitApp]:
    require_chromium()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.unlink(missing_ok=True)
    with StreamlitApp(stub.base_url, tmp_path_factory.mktemp("research-page"), log_path=LOG) as server:
        yield server


@pytest.fixture
def new_page(browser, app) -> Iterator[Callable[[dict[str, int]], Page]]:
    contexts = []
    start = log_size(LOG)

    def make(viewport: dict[str, int]) -> Page:
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(WAIT)
        contexts.append(context)
        page = context.new_page()
        page.goto(app.url + "/")
        expect(topic_box(page)).to_be_visible()
        return page

    yield make
    for context in contexts:
        context.close()
    assert not server_errors(LOG, start), f"the app raised (see {LOG})"


def in_first_screen(page: Page, text: str, viewport: dict[str, int]) -> bool:
    """True when the first element showing ``text`` lies wholly inside the viewport, unscrolled."""
    box = page.get_by_text(text, exact=True).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def test_a_pasted_topic_over_the_limit_is_refused_with_the_limit_named(new_page) -> None:
    page = new_page(SIZES["1024x768"])
    long = "Electric vehicle charging networks " * 8  # 280 characters, pasted at once
    topic_box(page).fill(long)
    expect(topic_box(page)).to_have_value(long)  # the box took the whole paste
    generate_button(page).click()
    expect(page.get_by_text(f"The topic is {len(long.strip())} characters long; the limit is 200.")).to_be_visible()
    expect(topic_box(page)).to_have_value(long)
    assert "job=" not in page.url
    expect(page.get_by_text("/200")).to_have_count(0)  # no character counter drawn over the text
    screenshot(page, "research-overlong-topic")


def test_a_cancel_before_anything_finished_is_not_called_a_partial_report(new_page) -> None:
    page = new_page(SIZES["1024x768"])
    topic_box(page).fill(HANGING)
    generate_button(page).click()
    expect(page.locator(".st-key-agent-market")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Cancelled — nothing had finished.")).to_be_visible()
    expect(page.get_by_role("button", name="Run again")).to_be_visible()
    expect(page.get_by_role("button", name="New research")).to_be_visible()
    for absent in ("Download", "Partial report"):
        expect(page.get_by_text(absent)).to_have_count(0)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(0)
    screenshot(page, "research-cancelled-early")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_finished_report_opens_with_its_title_and_headline_figures(new_page, size) -> None:
    viewport = SIZES[size]
    page = new_page(viewport)
    topic = f"Vertical farming at {size}"
    topic_box(page).fill(topic)
    generate_button(page).click()
    expect(heading(page, topic).or_(exceptions(page)).first).to_be_visible()
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, f"research-report-first-{size}")
    title_box = heading(page, topic).bounding_box()
    assert title_box is not None and title_box["y"] + title_box["height"] <= viewport["height"]
    for label in ("Growth (CAGR)", "Leader", "Largest segment"):
        assert in_first_screen(page, label, viewport), f"the {label!r} card is below the first screen at {size}"
    assert page.get_by_role("button", name="New research").count() == 1, "one control for a new topic"
    expect(page.get_by_text("Research another topic")).to_have_count(0)
    page.get_by_role("button", name="Download", exact=True).click()
    expect(page.get_by_role("button", name="Download report (.md)")).to_be_visible()


def test_an_example_topic_is_one_click_to_its_report(new_page) -> None:
    page = new_page(SIZES["1024x768"])
    page.get_by_role("button", name="Plant-based dairy").click()
    expect(heading(page, "Plant-based dairy").or_(exceptions(page)).first).to_be_visible()
    assert "job=" in page.url
    page.get_by_role("button", name="New research").click()
    expect(topic_box(page)).to_have_value("")


def test_the_expected_spend_shows_before_generate_and_the_live_spend_during_the_run(new_page) -> None:
    page = new_page(SIZES["1024x768"])
    expect(page.get_by_text(re.compile(r"Expected spend per report: about \d+–\d+ k tokens with stub-model"))) \
        .to_be_visible()
    page.get_by_text("Run options").click()
    budget = page.get_by_role("spinbutton", name="Token budget")
    budget.fill("50000")
    budget.press("Tab")
    topic_box(page).fill(SLOW_CUSTOMERS)
    generate_button(page).click()
    spent = page.get_by_text(re.compile(r"Researching “Slow customer research”… · [1-9][\d,]* of 50,000 tokens so far"))
    expect(spent).to_be_visible()  # the market and competitor agents have answered; the customer agent has not
    tiles = page.locator('[class*="st-key-live-tiles-"]')  # the key figures fill in as the agents finish
    expect(tiles.get_by_text("being researched")).to_have_count(1)  # the customer agent's tile only
    expect(tiles.get_by_text("Largest segment")).to_be_visible()
    expect(tiles.get_by_text("being checked")).to_be_visible()  # no count of verified figures while research runs
    expect(tiles.locator('[data-testid="stMetricValue"]').first).not_to_have_text("…")  # the market size is in
    screenshot(page, "research-live-spend")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text(re.compile(r"^Cancelled in .* tokens"))).to_be_visible()


def test_the_server_log_has_no_fragment_noise(app, new_page) -> None:
    """Live status refreshes twice a second; a tick that lands after the page moved on is not logged."""
    page = new_page(SIZES["1400x1000"])
    topic_box(page).fill("Fragment noise check")
    generate_button(page).click()
    expect(heading(page, "Fragment noise check")).to_be_visible()
    assert "does not exist anymore" not in LOG.read_text(encoding="utf-8", errors="replace")
