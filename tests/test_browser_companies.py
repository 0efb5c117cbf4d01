"""The companies page in a real browser, at 1024×768: an example batch is one click to a report, the form
folds away once a batch starts, the finished batch's headline figures show on the first screen, and the
comparison is shown as it is written.

`streamlit run app.py` runs in demo mode (the offline demo model) with its own data folder, and for the
comparison's stream against the local stub server (tests/stub.py), whose comparison answer streams slowly.
Screenshots: ``artifacts/screenshots/companies-*.png``; the servers' output: ``artifacts/browser-tests/companies.log``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from browser import (
    ARTIFACTS,
    StreamlitApp,
    exceptions,
    job_id_of,
    log_size,
    require_chromium,
    screenshot,
    server_errors,
)
from playwright.sync_api import Locator, Page, expect
from stub import Plan, serve

from tests.support.responders import latency_responder
from ui.companies_page import PLACEHOLDER

WAIT = 20_000  # ms: generous upper bound for any one UI wait (a demo batch takes a few seconds)
LOG = ARTIFACTS / "browser-tests" / "companies.log"
WIDTH, HEIGHT = 1024, 768
JOB_URL = re.compile(r"[?&]job=[0-9a-f]{12}(&|$)")
EXAMPLE = "Stripe, Adyen, Klarna"
METRICS = ("Companies profiled", "Largest revenue", "Revenues verified")
COMPARISON_SECONDS = 8.0  # the stub's comparison answer: first token after a fifth, the rest spread evenly
OVERVIEW_END = "not an estimate)."  # how the demo comparison's overview (its prose field) ends
log_start = {"at": 0}


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[StreamlitApp]:
    """The app in demo mode on a free port of 127.0.0.1, with its own data folder."""
    require_chromium()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.unlink(missing_ok=True)
    with StreamlitApp("", tmp_path_factory.mktemp("companies-data"), log_path=LOG,
                      extra_env={"RESEARCH_DEMO": "1"}) as server:
        yield server


@pytest.fixture(scope="module")
def stub_app(tmp_path_factory) -> Iterator[StreamlitApp]:
    """The app against the stub server, whose comparison answer takes ``COMPARISON_SECONDS`` to stream."""
    require_chromium()
    plan = Plan(always={"comparison": latency_responder({"comparison": COMPARISON_SECONDS})})
    with serve(plan) as stub, StreamlitApp(stub.base_url, tmp_path_factory.mktemp("companies-stub-data"),
                                           log_path=LOG) as server:
        yield server


@pytest.fixture(autouse=True)
def _own_log_window(app) -> None:
    """Each test checks only the server errors logged while it ran."""
    log_start["at"] = log_size(LOG)


@pytest.fixture
def new_page(browser) -> Iterator[Callable[[], Page]]:
    """Open a 1024×768 page in a fresh browser context (a separate Streamlit session); all closed afterwards."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        context.set_default_timeout(WAIT)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def no_errors(page: Page) -> None:
    """No exception box in the page and no uncaught exception in the server log."""
    count = exceptions(page).count()
    assert count == 0, f"the page shows an exception: {exceptions(page).first.inner_text()[:300] if count else ''}"
    errors = server_errors(LOG, log_start["at"])
    assert not errors, f"the app raised (see {LOG}): {errors}"


def names_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Companies, one per line")


def fold(page: Page) -> Locator:
    """The folded form's header."""
    return page.get_by_text("Research other companies", exact=True)


def metric(page: Page, label: str) -> Locator:
    """The headline tile labelled ``label``."""
    return page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))


def open_companies(page: Page, app: StreamlitApp) -> None:
    """Open the app's home page, then the companies page from the sidebar, as a person does."""
    page.goto(app.url + "/")
    home = page.get_by_role("heading", name="Market research studio")
    expect(home.or_(exceptions(page)).first).to_be_visible(timeout=WAIT)
    page.get_by_role("link", name="Companies").click()
    expect(page).to_have_url(re.compile(r"/companies$"), timeout=WAIT)
    expect(names_box(page).or_(exceptions(page)).first).to_be_visible(timeout=WAIT)
    no_errors(page)
    expect(page.get_by_role("heading", name="Company research", exact=True)).to_be_visible()


def wait_for_batch(page: Page, title: str) -> None:
    """Wait until the report of the batch ``title`` shows, failing at once if an exception box shows instead."""
    report = page.get_by_role("heading", name=f"Company research: {title}", exact=True)
    expect(report.or_(exceptions(page)).first).to_be_visible(timeout=WAIT)
    no_errors(page)


def on_first_screen(page: Page, locator: Locator) -> None:
    """``locator`` is wholly inside the window as it opened, without any scrolling."""
    expect(locator).to_be_in_viewport(ratio=1)
    box = locator.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, f"off the first screen: {box}"


def test_an_example_is_one_click_to_a_report_with_its_figures_on_the_first_screen(app, new_page) -> None:
    page = new_page()
    open_companies(page, app)
    expect(names_box(page)).to_have_value("")  # the hint is a placeholder, not names that look typed in
    expect(names_box(page)).to_have_attribute("placeholder", PLACEHOLDER)
    expect(page.get_by_text("Try:", exact=True)).to_be_visible()

    page.get_by_role("button", name=EXAMPLE).click()
    expect(page).to_have_url(JOB_URL, timeout=WAIT)
    job_id = job_id_of(page)
    expect(fold(page)).to_be_visible(timeout=WAIT)  # the form folds away: the batch comes first
    expect(names_box(page)).to_be_hidden()
    wait_for_batch(page, EXAMPLE)
    assert job_id_of(page) == job_id

    for label in METRICS:
        on_first_screen(page, metric(page, label))
    expect(metric(page, "Companies profiled")).to_contain_text(re.compile(r"3 of 3\s*none failed"))
    expect(metric(page, "Largest revenue")).to_contain_text(re.compile(r"[\d.,]+ (m|bn)\s*USD · (Stripe|Adyen|Klarna) · demo"))
    expect(metric(page, "Revenues verified")).to_contain_text("—")  # demo figures are never verified
    expect(metric(page, "Revenues verified")).to_contain_text("demo: illustrative")
    on_first_screen(page, page.get_by_test_id("stPopoverButton").filter(has_text="Download"))
    on_first_screen(page, page.get_by_role("button", name="New batch"))
    screenshot(page, f"companies-report-{WIDTH}x{HEIGHT}")

    fold(page).click()  # unfolded, the form holds the example's names
    expect(names_box(page)).to_be_visible()
    expect(names_box(page)).to_have_value("Stripe\nAdyen\nKlarna")
    no_errors(page)


def test_the_form_folds_away_once_a_batch_starts(app, new_page) -> None:
    page = new_page()
    open_companies(page, app)
    names_box(page).fill("Datadog\n\ndatadog\nNew Relic")
    page.get_by_role("button", name="Research companies").click()
    expect(page).to_have_url(JOB_URL, timeout=WAIT)
    expect(fold(page)).to_be_visible()
    expect(names_box(page)).to_be_hidden()
    progress = page.get_by_text(re.compile(r"^\d of 2 companies finished"))
    report = page.get_by_role("heading", name="Company research: Datadog, New Relic", exact=True)
    expect(progress.or_(report).first).to_be_visible(timeout=WAIT)  # the batch, live (or already done)
    screenshot(page, f"companies-running-{WIDTH}x{HEIGHT}")
    wait_for_batch(page, "Datadog, New Relic")
    on_first_screen(page, metric(page, "Companies profiled"))
    expect(metric(page, "Companies profiled")).to_contain_text("2 of 2")

    page.get_by_role("button", name="New batch").click()  # back to an open, empty form
    expect(names_box(page)).to_be_visible()
    expect(names_box(page)).to_have_value("")
    expect(fold(page)).to_be_hidden()
    no_errors(page)


def being_written(page: Page) -> Locator:
    """The live status's box of the text being written ("As it is written")."""
    box = page.locator('[data-testid="stVerticalBlock"]')  # the innermost holding the caption: its bordered box
    return box.filter(has=page.get_by_text("As it is written", exact=True)).last


def test_the_comparison_is_shown_as_it_is_written(stub_app, new_page) -> None:
    page = new_page()
    open_companies(page, stub_app)
    names_box(page).fill("Stripe\nAdyen")
    page.get_by_role("button", name="Research companies").click()
    expect(page).to_have_url(JOB_URL, timeout=WAIT)
    preview = being_written(page)
    expect(preview).to_contain_text("This demo comparison", timeout=WAIT)
    screenshot(page, f"companies-writing-{WIDTH}x{HEIGHT}")
    shown = preview.inner_text()
    assert OVERVIEW_END not in shown, f"the overview showed only once written in full: {shown!r}"
    wait_for_batch(page, "Stripe, Adyen")
