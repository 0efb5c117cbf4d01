"""Shared fixtures: offline settings, a demo-free environment, the stub server, a throw-away PostgreSQL."""

from __future__ import annotations

import pytest
from agents import set_tracing_disabled

from tests.support.postgres import database_url, postgres_url  # noqa: F401 - fixtures: PostgreSQL, both backends

set_tracing_disabled(True)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No test sees the developer's real keys, servers or `.env`."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RESEARCH_API", "RESEARCH_MODEL", "RESEARCH_DEMO",
                 "RESEARCH_AGENT_TIMEOUT", "RESEARCH_RUN_TIMEOUT", "RESEARCH_MAX_RETRIES", "RESEARCH_MAX_CONCURRENCY",
                 "RESEARCH_DATA_DIR", "RESEARCH_TRACING", "RESEARCH_MAX_OUTPUT_TOKENS", "RESEARCH_SEARCH", "SEARXNG_URL",
                 "TAVILY_API_KEY", "RESEARCH_FETCH_PRIVATE", "RESEARCH_DATABASE_URL", "RESEARCH_WORKER_ID",
                 "RESEARCH_RATE_LIMIT", "RESEARCH_WORKER_CONCURRENCY", "RESEARCH_PRICES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201 - a Playwright Browser (imported only by the browser tests)
    """Debian's Chromium, launched once for a test module (skipped without it; on CI a failure)."""
    from browser import require_chromium  # tests/browser.py: imported as the browser tests import it
    from playwright.sync_api import sync_playwright

    from tests.support.browser_harness import launch_chromium

    require_chromium()
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()

