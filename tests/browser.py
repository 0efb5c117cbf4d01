"""Helpers for the real-browser tests (Playwright sync API, the system Chromium).

The Chromium launch, the free port, the app's environment and the ``streamlit run``
subprocess live in :mod:`tests.support.browser_harness`, shared with ``python -m benchmarks --ui``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

from tests.support.browser_harness import (  # noqa: F401 - re-exported for the tests
    AGENT_CARD,
    CLICK_AT,
    GENERATE,
    ROOT,
    TOPIC_LABEL,
    VIEWPORT,
    StreamlitApp,
    chromium_problem,
    launch_chromium,
    log_size,
    report_heading,
    server_errors,
)

ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
SECTIONS = ("## Executive Summary", "## Market Overview", "## Competitive Landscape", "## Customer Segments",
            "## Strategic Recommendations")
JOB_IN_URL = re.compile(r"[?&]job=([0-9a-f]{12})(?:&|$)")


def require_chromium() -> None:
    """Skip without the system Chromium; on CI (``CI`` set) that is a failure instead."""
    problem = chromium_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests need the system Chromium on CI: {problem}", pytrace=False)
    pytest.skip(f"browser tests need the system Chromium: {problem}")


def topic_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name=TOPIC_LABEL, exact=True)


def generate_button(page: Page) -> Locator:
    return page.get_by_role("button", name=GENERATE)


def heading(page: Page, topic: str) -> Locator:
    """The report's title for ``topic``."""
    return page.get_by_role("heading", name=report_heading(topic), exact=True)


def agent_card(page: Page, key: str) -> Locator:
    """The live status card of one research agent (market, competitor, customer: with its section) or "summary"."""
    return page.locator(f".st-key-agent-{key}")


def exceptions(page: Page) -> Locator:
    """Streamlit's uncaught-exception boxes."""
    return page.locator('[data-testid="stException"]')


def job_id_of(page: Page) -> str:
    """The job id in the page's URL (``?job=<12 hex>``)."""
    match = JOB_IN_URL.search(page.url)
    assert match, f"no job id in {page.url}"
    return match.group(1)


def screenshot(page: Page, name: str) -> Path:
    """Save a viewport screenshot to ``artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path)
    return path
