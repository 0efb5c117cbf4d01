"""History in a real browser: a compact table, figure previews, delete one or several after a question
naming them, compare two runs of a topic, and page addresses typed in any case.

Finished reports of the offline demo model are written to the app's data folder by a job service in this
process before `streamlit run app.py` starts on it (in demo mode as well); the later of two runs of one
topic is given a larger market, so comparing them shows a change. Screenshots:
``artifacts/screenshots/history-*.png``; the server's output: ``artifacts/browser-tests/history.log``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser import (
    ARTIFACTS,
    GRID_ROWS,
    StreamlitApp,
    click_grid_row,
    exceptions,
    grid_canvas,
    grid_row_height,
    grid_texts,
    log_size,
    require_chromium,
    screenshot,
    server_errors,
)
from playwright.sync_api import Page, expect

from research.config import load_settings
from research.inputs import CompanyRequest, MarketRequest
from research.jobs.service import JobService, MarketResearchResult
from research.store import ReportStore

WAIT = 20_000  # ms
LOG = ARTIFACTS / "browser-tests" / "history.log"
SIZES = [(1024, 768), (1400, 1000)]
MARKETS = ["Plant-based dairy", "Vertical farming in Scandinavia", "Pet insurance in Japan", "Cold-chain logistics",
           "B2B payroll software", "Electric vehicle charging", "Oat milk in the Nordics", "Solar panel recycling",
           "Indoor climbing gyms", "Craft beer in Brazil", "Used car marketplaces"]
BATCHES = [["Stripe", "Datadog", "Adyen"], ["Klarna", "Wise"]]
COMPARED = "Coffee subscriptions"  # run twice: its later run's market is 20 % larger
MARKET_SIZE = re.compile(r"^[A-Z]{3} \d[\d,]*(\.\d)? (k|M|bn|tn) \(\d{4}\) · leader ")
log_start = {"at": 0}


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A data folder with finished demo reports (11 markets, 2 company batches, and two runs of
    :data:`COMPARED` at the top, newest first): the folder and their ids by title (the later run's for COMPARED)."""
    require_chromium()
    data = tmp_path_factory.mktemp("history-data")
    settings = load_settings(env={"RESEARCH_DEMO": "1", "RESEARCH_DATA_DIR": str(data)}, dotenv_path=None)
    service = JobService(settings, ReportStore(data), durable=False, demo_speed=200)
    try:
        requests = [MarketRequest.parse(topic) for topic in MARKETS] + [CompanyRequest.parse(names, 2) for names in BATCHES]
        requests += [MarketRequest.parse(COMPARED)] * 2
        ids = {}
        for request in requests:  # one after another: each has its own start time
            job_id = service.submit(request)
            assert service.wait(job_id, 60)
            ids[request.title] = job_id
    finally:
        service.close()
    store = ReportStore(data)
    assert {store.get(i).status for i in ids.values()} == {"complete"}
    later = store.get(ids[COMPARED])
    result = MarketResearchResult.model_validate_json(store.result_json(later.id))
    result.market.result.market_size.value *= 1.2  # the market grew since the first run
    store.record_finished(later.id, status=later.status, finished_at=later.finished_at or 0.0,
                          result_json=result.model_dump_json(), elapsed=later.elapsed, tokens=later.tokens)
    return data, ids


@pytest.fixture(scope="module")
def app(reports) -> Iterator[StreamlitApp]:
    data, _ = reports
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.unlink(missing_ok=True)
    with StreamlitApp("", data, log_path=LOG, extra_env={"RESEARCH_DEMO": "1"}) as server:
        yield server


@pytest.fixture(autouse=True)
def _own_log_window(app) -> None:
    log_start["at"] = log_size(LOG)


@pytest.fixture
def new_page(browser) -> Iterator[Callable[..., Page]]:
    contexts = []

    def make(width: int, height: int) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(WAIT)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def no_errors(page: Page) -> None:
    count = exceptions(page).count()
    assert count == 0, f"the page shows an exception: {exceptions(page).first.inner_text()[:300] if count else ''}"
    assert page.get_by_text("Page not found").count() == 0, "Streamlit says the page was not found"
    errors = server_errors(LOG, log_start["at"])
    assert not errors, f"the app raised (see {LOG}): {errors}"


def page_title(page: Page, title: str) -> None:
    """Wait until the page's title (its level-1 heading) reads ``title``, with the app's sidebar beside it."""
    expect(page.get_by_role("heading", level=1).first).to_have_text(title, timeout=WAIT)
    expect(page.get_by_role("heading", name="Model provider")).to_be_visible()  # drawn by app.py: routed through it
    no_errors(page)


def open_history(page: Page, app: StreamlitApp) -> None:
    page.goto(app.url + "/history")
    page_title(page, "History")
    expect(grid_canvas(page)).to_be_visible()
    expect(page.locator(GRID_ROWS).first).to_be_attached()  # the table has drawn its rows
    expect(page.get_by_text(re.compile(r"^\d+ reports · select a row"))).to_be_visible()


def titles(page: Page) -> list[str]:
    return [cells[0] for cells in grid_texts(page)]


def wait_until_gone(page: Page, *gone: str) -> list[str]:
    """Wait until the table shows rows again, none of them titled one of ``gone``; the titles then."""
    page.wait_for_function(
        """([selector, gone]) => {
             const firsts = [...document.querySelectorAll(selector)].map(r => r.querySelector('td')?.textContent);
             return firsts.length > 0 && gone.every(title => !firsts.includes(title));
           }""", arg=[GRID_ROWS, list(gone)], timeout=WAIT)
    return titles(page)


@pytest.fixture(scope="module", autouse=True)
def _warm(app, browser) -> None:
    """Open `/` once: until a session has run `app.py`, Streamlit treats `pages/` as an app without st.navigation
    and says "Page not found" for a first visit to an address in another case than the page's, e.g. `/History`
    (the test of addresses below starts a fresh server for the first visits)."""
    page = browser.new_page()
    page.goto(app.url + "/")
    expect(page.get_by_role("heading", name="Market research studio")).to_be_visible(timeout=WAIT)
    page.close()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_table_is_compact_previews_figures_and_deletes_one_or_several(app, reports, new_page, size) -> None:
    width, height = size
    data, ids = reports
    store = ReportStore(data)
    page = new_page(width, height)
    open_history(page, app)
    shown = titles(page)
    assert len(shown) >= 8
    screenshot(page, f"history-{width}x{height}")

    # Many rows on one screen: the rows below the table's top that the window shows whole.
    box = grid_canvas(page).bounding_box()
    row = grid_row_height(page)
    on_screen = min(len(shown), math.floor((height - box["y"] - row) / row))
    assert on_screen >= 8, f"only {on_screen} rows fit on a {width}x{height} screen (table at y={box['y']:.0f})"
    assert box["x"] + box["width"] <= width, "the table fits the window's width"

    # The preview column: a market's size and leader, a batch's size.
    cells = {cells[0]: cells for cells in grid_texts(page)}
    assert MARKET_SIZE.match(cells["Plant-based dairy"][1]), cells["Plant-based dairy"]
    assert cells["Stripe, Datadog, Adyen"][1] == "3 companies"
    assert cells["Plant-based dairy"][3] == "complete" and cells["Stripe, Datadog, Adyen"][5] == "Company"

    # One row: its actions, then a question naming it, then it is gone.
    one, two, three = [t for t in shown if t in MARKETS][: 3] if width == 1024 else [t for t in shown if t in MARKETS][3:6]
    click_grid_row(page, one)
    expect(page.get_by_role("link", name="Open")).to_be_visible()
    expect(page.get_by_role("button", name="Run again")).to_be_visible()
    page.get_by_role("button", name="Download", exact=True).click()
    for label in ("Download report (.md)", "Download report (.html)", "Download data (.json)"):
        expect(page.get_by_role("button", name=label)).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Download report (.md)")).to_be_hidden()
    expect(page.get_by_text(f"“{one}”", exact=False).first).to_be_visible()
    screenshot(page, f"history-one-selected-{width}x{height}")
    page.get_by_role("button", name="Delete", exact=True).click()
    asked = page.get_by_text(re.compile(rf"Delete “{re.escape(one)}” \(\d{{1,2}} \w{{3}}( \d{{4}})?, \d\d:\d\d\)\?$"))
    expect(asked).to_be_visible()
    screenshot(page, f"history-confirm-{width}x{height}")
    assert one in titles(page) and store.get(ids[one]) is not None, "asking deletes nothing"
    page.get_by_role("button", name="Delete report").click()
    wait_until_gone(page, one)
    expect(asked).to_have_count(0)
    assert store.get(ids[one]) is None
    no_errors(page)

    # Two rows: one question naming both, then both are gone.
    click_grid_row(page, two)
    expect(page.get_by_role("link", name="Open")).to_be_visible()
    click_grid_row(page, three)
    expect(page.get_by_text("2 selected", exact=True)).to_be_visible()
    screenshot(page, f"history-two-selected-{width}x{height}")
    page.get_by_role("button", name="Delete 2 selected").click()
    question = page.get_by_text(re.compile(r"Delete 2 reports: “"))
    expect(question).to_be_visible()
    assert f"“{two}”" in question.inner_text() and f"“{three}”" in question.inner_text()
    page.get_by_role("button", name="Delete 2 reports").click()
    left = wait_until_gone(page, two, three)
    assert len(left) == len(shown) - 3
    assert store.get(ids[two]) is None and store.get(ids[three]) is None
    expect(page.get_by_text(re.compile(r"^\d+ reports · select a row"))).to_be_visible()  # nothing selected now
    no_errors(page)
    screenshot(page, f"history-after-deletes-{width}x{height}")


def test_addresses_in_any_case_open_their_page_and_keep_the_query(app, reports, new_page) -> None:
    _, ids = reports
    job_id = ids["Stripe, Datadog, Adyen"]
    app.restart()  # a fresh server: the first visit is to `/history` (Streamlit's `pages/` folder rule applies)
    page = new_page(1024, 768)
    page.goto(app.url + "/history")
    page_title(page, "History")
    expect(page).to_have_url(app.url + "/history")
    assert page.get_by_text("Page not found").count() == 0

    for typed, title, address in (("/COMPANIES", "Company research", "/companies"), ("/Companies", "Company research", "/companies"),
                                  ("/history", "History", "/history"), ("/HiStOrY", "History", "/history"),
                                  ("/Research", "Market research studio", "/")):
        page.goto(app.url + typed)
        page_title(page, title)
        expect(page).to_have_url(app.url + address)

    page.goto(f"{app.url}/history?job={job_id}")
    page_title(page, "History")
    expect(page).to_have_url(f"{app.url}/history?job={job_id}")
    page.goto(f"{app.url}/History?job={job_id}")
    page_title(page, "History")
    expect(page).to_have_url(f"{app.url}/history?job={job_id}")
    page.goto(f"{app.url}/COMPANIES?job={job_id}")
    page_title(page, "Company research")
    expect(page).to_have_url(f"{app.url}/companies?job={job_id}")
    expect(page.get_by_text("3 companies: 3 succeeded, 0 failed.")).to_be_visible()  # the job the link names
    screenshot(page, "history-address-companies-job")


def tick_row(page: Page, row: int) -> None:
    """Tick (or untick) the checkbox of the table's ``row``-th row, from the top (a table showing every row)."""
    grid_canvas(page).scroll_into_view_if_needed()  # a comparison above it may have moved it below the window
    box = grid_canvas(page).bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 16, box["y"] + grid_row_height(page) * (row + 1.5))


def test_two_runs_of_a_topic_are_compared_and_each_row_shows_its_spend(app, reports, new_page, tmp_path) -> None:
    page = new_page(1024, 768)
    open_history(page, app)
    cells = grid_texts(page)
    runs = [n for n, row in enumerate(cells) if row[0] == COMPARED]
    assert len(runs) == 2, [row[0] for row in cells]
    for row in cells:  # the demo model's tokens (it has no price: no cost)
        assert re.fullmatch(r"[\d,]+ tok", row[6]), row

    tick_row(page, runs[0])
    expect(page.get_by_role("link", name="Open")).to_be_visible()
    expect(page.get_by_role("button", name="Compare")).to_have_count(0)
    tick_row(page, runs[1])
    expect(page.get_by_text("2 selected", exact=True)).to_be_visible()
    page.get_by_role("button", name="Compare").click()

    moment = r"\d{1,2} \w{3} \d{4}, \d\d:\d\d"
    expect(page.get_by_role("heading", name=re.compile(rf"^Compare “{COMPARED}”, {moment} → {moment}$"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^What changed since \d{1,2} \w{3} \d{4}$"))).to_be_visible()
    size = page.get_by_role("row").filter(has_text="Market size")
    expect(size).to_be_visible()
    expect(size).to_contain_text("+20 %")
    download = page.get_by_role("button", name="Download comparison (.md)")
    expect(download).to_be_visible()
    screenshot(page, "history-compare-1024x768")
    box = page.locator(".st-key-history-comparison")
    charts = box.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    expect(charts.nth(1)).to_be_attached()  # both reports' charts, side by side
    assert charts.count() % 2 == 0
    first, second = (charts.nth(n).bounding_box() for n in (0, charts.count() // 2))
    assert first and second and first["x"] < second["x"] and abs(first["y"] - second["y"]) < 5, "side by side"
    for n in range(charts.count()):  # half a page wide: each title wraps instead of running past the chart's edge
        chart, title = charts.nth(n).bounding_box(), charts.nth(n).locator(".gtitle").bounding_box()
        assert chart and title and title["x"] + title["width"] <= chart["x"] + chart["width"], "a title is cut off"
    charts.first.scroll_into_view_if_needed()
    screenshot(page, "history-compare-charts-1024x768")
    no_errors(page)

    with page.expect_download() as saved:
        download.click()
    text = Path(saved.value.path()).read_text(encoding="utf-8")
    assert text.startswith(f"# {COMPARED}\n\n“{COMPARED}”, ") and "+20 %" in text and "## What changed since" in text

    tick_row(page, runs[1])  # one row left selected: the comparison no longer applies
    expect(page.get_by_role("link", name="Open")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^What changed since"))).to_have_count(0)
    no_errors(page)


def test_the_first_visit_to_a_fresh_server_opens_the_page_typed(reports, browser, tmp_path) -> None:
    """Before any session has run app.py, Streamlit knows only the page files: a page's address must still open
    it (no "Page not found"), through the app's navigation (its sidebar)."""
    address = "/companies"
    log = tmp_path / "fresh.log"
    with StreamlitApp("", reports[0], log_path=log, extra_env={"RESEARCH_DEMO": "1"}) as fresh:
        context = browser.new_context(viewport={"width": 1024, "height": 768})
        context.set_default_timeout(WAIT)
        page = context.new_page()
        try:
            page.goto(fresh.url + address)  # a fresh server's first run imports the whole app: give it time
            expect(page.get_by_role("heading", level=1).first).to_have_text("Company research", timeout=WAIT)
            expect(page.get_by_role("heading", name="Model provider")).to_be_visible()
            assert page.get_by_text("Page not found").count() == 0
            assert page.url.endswith(address), page.url
            assert not server_errors(log)
        finally:
            context.close()
