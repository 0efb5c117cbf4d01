"""Helpers for the real-browser tests (Playwright sync API, the system Chromium).

The Chromium launch, the free port, the app's environment and the ``streamlit run``
subprocess live in :mod:`tests.support.browser_harness`, shared with ``python -m benchmarks --ui``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

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
EXPECT_WAIT_MS = 20_000
"""How long ``expect(...)`` waits when an assertion names no timeout: an upper bound, not a pace. Its own default,
5 s, is too short for a page's first load on a busy CI machine (a fresh server, Streamlit's widget code still
loading). Set here, on import, so it holds in every test process that runs a browser test."""
expect.set_options(timeout=EXPECT_WAIT_MS)


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


# The interactive table (``st.dataframe``): Streamlit draws it on a canvas (glide-data-grid), with an
# accessible copy of the rows it shows in the DOM; rows are picked by clicking their checkbox on the canvas.

GRID_ROWS = '[data-testid="stDataFrame"] table[role=grid] tbody tr'


def grid_canvas(page: Page) -> Locator:
    """The canvas the first table of the page is drawn on."""
    return page.locator('[data-testid="data-grid-canvas"]').first


def grid_texts(page: Page) -> list[list[str]]:
    """The cells of the table's rows that it currently draws, top to bottom (its own, unformatted values)."""
    return page.locator(GRID_ROWS).evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))")


def grid_row_height(page: Page) -> float:
    """The height of one row of the table in px (its header's too), from its canvas: for a table showing every row."""
    box = grid_canvas(page).bounding_box()
    assert box is not None, "the table is not shown"
    return float(round(box["height"] / (page.locator(GRID_ROWS).count() + 1)))


def click_grid_row(page: Page, first_cell: str) -> None:
    """Tick (or untick) the checkbox of the row whose first column reads ``first_cell`` (a table showing every row)."""
    firsts = [cells[0] for cells in grid_texts(page)]
    assert first_cell in firsts, f"{first_cell!r} is not among the rows shown: {firsts}"
    box = grid_canvas(page).bounding_box()
    assert box is not None
    height = grid_row_height(page)
    page.mouse.click(box["x"] + 16, box["y"] + height * (firsts.index(first_cell) + 1.5))
