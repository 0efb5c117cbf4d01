"""The app killed mid-job and started again, in a real browser: the page resumes the job and says so.

`streamlit run app.py` runs against the held test server with one provider slot,
so while the customer agent's answer is held the two other agents show
*queued (provider limit)* or have finished. The server process is then killed
with SIGKILL and started again on the same port and data folder; the job's link
shows *Resumed after a restart*, and the report completes without the finished
agent being asked again. Screenshots: ``artifacts/screenshots/resume-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser import (
    ARTIFACTS,
    VIEWPORT,
    StreamlitApp,
    exceptions,
    generate_button,
    heading,
    job_id_of,
    launch_chromium,
    require_chromium,
    screenshot,
    topic_box,
)
from playwright.sync_api import Page, expect, sync_playwright

from research.store import ReportStore
from tests.support.held_server import HeldServer, held_server

TOPIC = "Cold-chain logistics in Kenya"
WAIT = 30_000  # ms
JOB_URL = re.compile(r"[?&]job=[0-9a-f]{12}(&|$)")


@pytest.fixture
def stub() -> Iterator[HeldServer]:
    with held_server({"CustomerReport"}) as server:
        yield server


@pytest.fixture
def page() -> Iterator[Page]:
    require_chromium()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser.new_page(viewport=VIEWPORT)
        finally:
            browser.close()


def test_the_app_killed_mid_job_resumes_it_and_says_so(stub: HeldServer, page: Page, tmp_path) -> None:
    app = StreamlitApp(stub.server.base_url, tmp_path / "data", log_path=ARTIFACTS / "browser-tests" / "resume.log",
                       extra_env={"RESEARCH_MAX_CONCURRENCY": "1", "RESEARCH_SEARCH": "none",
                                  "RESEARCH_API": "chat_completions", "RESEARCH_WORKER_ID": "app-1"})
    with app:
        page.goto(app.url + "/")
        topic_box(page).fill(TOPIC)
        generate_button(page).click()
        expect(page).to_have_url(JOB_URL, timeout=WAIT)
        job = job_id_of(page)
        customers = page.locator(".st-key-agent-customer")
        expect(customers).to_contain_text("running", timeout=WAIT)  # its answer is held
        expect(page.locator(".st-key-agent-market")).to_contain_text("done", timeout=WAIT)
        screenshot(page, "resume-before-the-crash")
        assert app.process is not None
        app.process.kill()  # SIGKILL: the server gets no chance to clean up
        app.process.wait(timeout=10)
        app.process = None
        stub.release()
        app.start()  # the same port, data folder and worker id

        page.goto(f"{app.url}/?job={job}")
        expect(page.get_by_text("Resumed after a restart").first).to_be_visible(timeout=WAIT)
        expect(heading(page, TOPIC)).to_be_visible(timeout=WAIT)
        expect(exceptions(page)).to_have_count(0)
        screenshot(page, "resume-report")
    titles = stub.titles()
    assert titles["MarketData"] == 1 and titles["CompetitorReport"] == 1  # finished before the crash: asked once
    assert titles["CustomerReport"] == 2  # held at the crash: asked again
    assert ReportStore(tmp_path / "data").get(job).status == "complete"
