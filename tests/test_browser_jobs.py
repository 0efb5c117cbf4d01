"""One job per intent and *Retry failed parts* after a Cancel and after a failure, in a real browser.

`streamlit run app.py` against the held test server (the customer agent's answers wait until the test
releases them). A double click on *Generate report* followed by a third click, and the same topic started in
a second tab at the same moment, make one job; a job cancelled while the customer agent is held, then
*Retry failed parts*, completes its report without asking again for what had finished; so does a job whose
customer agent failed (HTTP 500) once the server is mended.
Screenshots: ``artifacts/screenshots/jobs-*.png``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from browser import (
    ARTIFACTS,
    CLICK_AT,
    VIEWPORT,
    StreamlitApp,
    agent_card,
    exceptions,
    generate_button,
    heading,
    job_id_of,
    launch_chromium,
    require_chromium,
    screenshot,
    topic_box,
)
from playwright.sync_api import Browser, Page, expect, sync_playwright

from research.store import ReportStore
from tests.support.held_server import HeldServer, held_server

WAIT = 30_000  # ms
CLICKS_AT = """(button, [double, third]) => {
  setTimeout(() => { button.click(); button.click(); }, Math.max(0, double - Date.now()));
  setTimeout(() => [...document.querySelectorAll('button')]  // wherever the button is by then, if still there
    .find(b => b.innerText.includes('Generate report'))?.click(), Math.max(0, third - Date.now()));
}"""
JOB_URL = re.compile(r"[?&]job=[0-9a-f]{12}(&|$)")


@pytest.fixture
def stub() -> Iterator[HeldServer]:
    with held_server({"CustomerReport"}) as server:
        yield server


@pytest.fixture
def app(stub: HeldServer, tmp_path) -> Iterator[StreamlitApp]:
    require_chromium()
    with StreamlitApp(stub.server.base_url, tmp_path / "data", log_path=ARTIFACTS / "browser-tests" / "jobs.log",
                      extra_env={"RESEARCH_SEARCH": "none", "RESEARCH_API": "chat_completions"}) as server:
        yield server


@pytest.fixture
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def open_tab(browser: Browser, app: StreamlitApp) -> Page:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(WAIT)
    page.goto(app.url + "/")
    expect(topic_box(page)).to_be_visible()
    return page


def test_a_double_click_a_third_click_and_a_second_tab_make_one_job(stub, app, browser) -> None:
    topic = "Vertical farming in Scandinavia"
    first, second = open_tab(browser, app), open_tab(browser, app)
    for page in (first, second):
        topic_box(page).fill(topic)
    at = (time.time() + 0.5) * 1000  # each page's own timer: both tabs click at this moment
    generate_button(second).evaluate(CLICK_AT, at)
    generate_button(first).evaluate(CLICKS_AT, [at, at + 300])  # a double click, then a third 0.3 s later
    for page in (first, second):
        expect(page).to_have_url(JOB_URL)
    assert job_id_of(first) == job_id_of(second), "both tabs show the one job"
    stub.release()
    for page in (first, second):
        expect(heading(page, topic).or_(exceptions(page)).first).to_be_visible()
        expect(exceptions(page)).to_have_count(0)
    screenshot(first, "jobs-one-per-intent")
    assert stub.titles()["MarketData"] == 1, "one job reached the model server"
    assert [job.topic for job in ReportStore(app.data_dir).list()] == [topic]


def test_retry_failed_parts_after_a_cancel_completes_the_report(stub, app, browser) -> None:
    topic = "Cold-chain logistics in Kenya"
    page = open_tab(browser, app)
    topic_box(page).fill(topic)
    generate_button(page).click()
    expect(page).to_have_url(JOB_URL)
    cancelled = job_id_of(page)
    expect(agent_card(page, "customer")).to_contain_text("running")  # its answer is held
    expect(agent_card(page, "competitor")).to_contain_text("Section written")
    expect(agent_card(page, "market")).to_contain_text("Section written")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Cancelled").first).to_be_visible()
    stub.release()
    before = stub.titles()
    page.get_by_role("button", name=re.compile(r"Retry failed parts")).click()
    expect(page).not_to_have_url(re.compile(f"job={cancelled}"))
    expect(heading(page, topic).or_(exceptions(page)).first).to_be_visible()
    expect(page.get_by_text("Report ready").first).to_be_visible()
    expect(exceptions(page)).to_have_count(0)
    screenshot(page, "jobs-retry-after-cancel")
    asked = stub.titles() - before
    assert asked["MarketData"] == 0 and asked["CompetitorReport"] == 0, "what finished before the cancel is kept"
    assert asked["CustomerReport"] == 1
    store = ReportStore(app.data_dir)
    assert store.get(cancelled).status == "cancelled" and store.get(job_id_of(page)).status == "complete"


def test_retry_failed_parts_after_a_failure_completes_the_report(browser, tmp_path) -> None:
    topic = "Cold-chain logistics in Kenya"
    with held_server(set(), broken={"CustomerReport"}) as stub, \
            StreamlitApp(stub.server.base_url, tmp_path / "data", log_path=ARTIFACTS / "browser-tests" / "jobs.log",
                         extra_env={"RESEARCH_SEARCH": "none", "RESEARCH_API": "chat_completions",
                                    "RESEARCH_MAX_RETRIES": "0"}) as app:
        page = open_tab(browser, app)
        topic_box(page).fill(topic)
        generate_button(page).click()
        expect(page).to_have_url(JOB_URL)
        failed = job_id_of(page)
        expect(page.get_by_text("Partial report ready").first).to_be_visible()
        stub.mend()
        before = stub.titles()
        page.get_by_role("button", name=re.compile(r"Retry failed parts")).click()
        expect(page).not_to_have_url(re.compile(f"job={failed}"))
        expect(page.get_by_text(re.compile("Report ready")).first).to_be_visible()  # not "Partial report ready"
        expect(exceptions(page)).to_have_count(0)
        screenshot(page, "jobs-retry-after-failure")
        asked = stub.titles() - before
        store = ReportStore(app.data_dir)
        assert store.get(failed).status == "partial" and store.get(job_id_of(page)).status == "complete"
    assert asked["MarketData"] == 0 and asked["CompetitorReport"] == 0, "what succeeded before is kept"
    assert asked["CustomerReport"] == 1
