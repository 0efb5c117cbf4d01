"""UI benchmark: the Streamlit app driven by a real browser against the local stub server.

``python -m benchmarks --ui`` starts the OpenAI-compatible stub server on 127.0.0.1 (the
same latencies as the pipeline benchmark), runs ``streamlit run app.py`` as a subprocess on a
temporary data folder, drives the system Chromium with Playwright and prints a Markdown table:

- click → first status visible: from the click on "Generate report" to the first agent card;
- job end → report visible: from the job's ``finished_at`` (stored in SQLite) to the report
  heading appearing in the page;
- one session, click → report visible (median of ``--repeat`` runs after one warm-up run);
- five sessions started at the same moment: wall time until all five reports are visible,
  and its ratio to one session.

Times are taken in the page with ``Date.now()`` (the same wall clock as ``time.time()`` here
and ``finished_at`` in the server): the click by a capturing listener, the status card and the
heading by a ``MutationObserver``, so Playwright's polling interval never inflates them. The
concurrent sessions are clicked by each page's own timer at one agreed moment.

The app and the browser are started by :mod:`tests.support.browser_harness`; Playwright is imported only
inside the functions that drive the browser, so ``import benchmarks`` stays light.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.latency import add_latency_options, critical_path, latency_of
from tests.support.browser_harness import (
    AGENT_CARD,
    CLICK_AT,
    EXCEPTION,
    GENERATE,
    MARKS_SCRIPT,
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


@dataclass
class Session:
    """One measured browser session: all times are epoch seconds."""

    topic: str
    clicked: float
    status_visible: float
    report_visible: float
    job_id: str
    started_at: float  # the job's own start and end, from the stored result
    finished_at: float

    @property
    def to_status(self) -> float:
        return self.status_visible - self.clicked

    @property
    def job_end_to_report(self) -> float:
        return self.report_visible - self.finished_at

    @property
    def job_time(self) -> float:
        return self.finished_at - self.started_at

    @property
    def total(self) -> float:
        return self.report_visible - self.clicked


class _Driver:
    """Opens sessions in one browser and measures them (Playwright async API)."""

    def __init__(self, browser: Any, app: StreamlitApp, timeout: float) -> None:
        from research.store import ReportStore
        from research.workflows.market import MarketResearchResult

        self.browser, self.app, self.timeout_ms = browser, app, timeout * 1000
        self.store, self.result_model = ReportStore(app.data_dir), MarketResearchResult

    async def open(self, topic: str) -> tuple[Any, Any]:
        """A fresh session (browser context) on the home page with ``topic`` typed in."""
        context = await self.browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(self.timeout_ms)
        await context.add_init_script(MARKS_SCRIPT)
        page = await context.new_page()
        await page.goto(self.app.url + "/")
        box = page.get_by_role("textbox", name=TOPIC_LABEL, exact=True)
        await box.or_(page.locator(EXCEPTION)).first.wait_for()
        await self._no_exception(page, topic)
        await box.fill(topic)
        await page.get_by_role("button", name=GENERATE).wait_for()
        return context, page

    async def run(self, page: Any, topic: str, at: float | None = None) -> Session:
        """Click "Generate report" (now, or at epoch time ``at``) and wait for the status, then the report."""
        button = page.get_by_role("button", name=GENERATE)
        if at is None:
            await button.click()
        else:
            await button.evaluate(CLICK_AT, at * 1000)
        try:
            await page.locator(AGENT_CARD).first.wait_for(state="attached")
            title = page.get_by_role("heading", name=report_heading(topic), exact=True)
            await title.or_(page.locator(EXCEPTION)).first.wait_for()
            await self._no_exception(page, topic)
        except Exception as exc:
            shot = ROOT / "artifacts" / f"bench-ui-failure-{topic.replace(' ', '-')}.png"
            await page.screenshot(path=shot)
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RuntimeError(f"no report for {topic!r}: {why} (screenshot: {shot})") from None
        marks = await page.evaluate("window.__marks")
        job_id = page.url.split("job=", 1)[-1][:12]
        raw = await asyncio.to_thread(self.store.result_json, job_id)
        if raw is None:
            raise RuntimeError(f"no stored result for job {job_id!r}")
        result = self.result_model.model_validate_json(raw)
        if result.status.value != "complete":
            raise RuntimeError(f"job for {topic!r} ended {result.status.value}: {result.error or ''}")
        return Session(topic, marks["clicked"] / 1000, marks["status"] / 1000, marks["h1:" + report_heading(topic)] / 1000,
                       job_id, result.started_at, result.finished_at)

    async def _no_exception(self, page: Any, topic: str) -> None:
        box = page.locator(EXCEPTION)
        if await box.count():
            text = (await box.first.inner_text()).strip().splitlines()
            raise RuntimeError(f"the app showed an exception in the session for {topic!r}: "
                               f"{' '.join(text)[:300]} (log: {self.app.log_path})")

    async def single(self, topic: str) -> Session:
        context, page = await self.open(topic)
        try:
            return await self.run(page, topic)
        finally:
            await context.close()

    async def concurrent(self, topics: list[str]) -> tuple[float, list[Session]]:
        """All sessions open and typed in first (one after another), then all clicked at once;
        wall time from the first click to the last report."""
        opened = []
        try:
            for topic in topics:
                opened.append(await self.open(topic))
            at = time.time() + 0.5  # every page clicks at this moment
            sessions = await asyncio.gather(*(self.run(page, t, at) for (_, page), t in zip(opened, topics)))
            if len({s.job_id for s in sessions}) != len(topics):
                raise RuntimeError("concurrent sessions shared a job")
            first_click = min(s.clicked for s in sessions)
            return max(s.report_visible for s in sessions) - first_click, list(sessions)
        finally:
            await asyncio.gather(*(context.close() for context, _ in opened))


async def _measure(app: StreamlitApp, repeat: int, sessions: int, timeout: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            driver = _Driver(browser, app, timeout)
            warmup = await driver.single("warm-up market")
            singles = [await driver.single(f"single session market {n + 1}") for n in range(repeat)]
            log_from = log_size(app.log_path) if app.log_path else 0
            wall, many = await driver.concurrent([f"concurrent session market {n + 1}" for n in range(sessions)])
        finally:
            await browser.close()
    return {"warmup": warmup, "singles": singles, "wall": wall, "many": many,
            "app_errors": server_errors(app.log_path, log_from)}


def run_ui_bench(latency: dict[str, float], repeat: int = 3, sessions: int = 5, timeout: float = 60.0,
                 log_path: Path | None = None) -> dict[str, Any]:
    """Start the stub server and the app, measure, stop both; returns the raw measurements."""
    from tests.support.openai_server import StubOpenAIServer
    from tests.support.responders import latency_responder

    with tempfile.TemporaryDirectory(prefix="bench-ui-") as data_dir, \
            StubOpenAIServer(latency_responder(latency)) as stub, \
            StreamlitApp(stub.base_url, Path(data_dir), log_path=log_path) as app:
        figures = asyncio.run(_measure(app, repeat, sessions, timeout))
        figures["max_in_flight"] = stub.max_in_flight
    return figures


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def print_table(figures: dict[str, Any], latency: dict[str, float]) -> bool:
    """Print the Markdown table; True when both ≤ 1 s goals are met."""
    singles: list[Session] = figures["singles"]
    many: list[Session] = figures["many"]
    n, k = len(singles), len(many)
    to_status = statistics.median(s.to_status for s in singles)
    to_report = statistics.median(s.job_end_to_report for s in singles)
    one = statistics.median(s.total for s in singles)
    wall = figures["wall"]
    critical = critical_path(latency)
    worst_status = max(s.to_status for s in many)
    worst_report = max(s.job_end_to_report for s in many)
    status_ok, report_ok = to_status <= 1.0, to_report <= 1.0

    def goal(ok: bool) -> str:
        return "≤ 1 s: met" if ok else "≤ 1 s: MISSED"

    lat = ", ".join(f"{key} {value:g} s" for key, value in latency.items())
    print(f"Streamlit app in Chromium over the stub server ({lat}; critical path {_s(critical)})\n")
    print("| Measure | Time | Goal / note |")
    print("| --- | --- | --- |")
    print(f"| click → first status visible (median of {n}) | {_s(to_status)} | {goal(status_ok)} |")
    print(f"| job end → report visible (median of {n}) | {_s(to_report)} | {goal(report_ok)} |")
    print(f"| one session: click → report visible (median of {n}) | {_s(one)} | "
          f"{one / critical:.2f}× the critical path |")
    print(f"| {k} concurrent sessions: clicks → all {k} reports visible | {_s(wall)} | "
          f"ratio {k}/one = {wall / one:.2f} |")
    print(f"| {k} concurrent sessions: worst click → status / job end → report | "
          f"{_s(worst_status)} / {_s(worst_report)} | |")
    print(f"| job run time in the server (start → finished_at): one session / {k} sessions (max) | "
          f"{_s(statistics.median(s.job_time for s in singles))} / {_s(max(s.job_time for s in many))} | "
          f"measured in the app process |")
    print(f"\nOne-session runs: {', '.join(_s(s.total) for s in singles)} (after a warm-up run of "
          f"{_s(figures['warmup'].total)}); stub max requests in flight: {figures['max_in_flight']}.")
    if figures["app_errors"]:
        print(f"While the {k} sessions ran, the app logged {len(figures['app_errors'])} uncaught exception(s): "
              f"{sorted(set(figures['app_errors']))}")
    return status_ok and report_ok


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks --ui``: run the UI benchmark and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks --ui", description=__doc__.splitlines()[0])
    parser.add_argument("--ui", action="store_true", help="run this UI benchmark (the dispatch flag)")
    add_latency_options(parser)
    parser.add_argument("--repeat", type=int, default=3, help="one-session runs; the median is reported")
    parser.add_argument("--sessions", type=int, default=5, help="concurrent sessions (default 5)")
    args = parser.parse_args(argv)
    problem = chromium_problem()
    if problem:
        print(f"UI benchmark needs the system Chromium: {problem}.", file=sys.stderr)
        return 2
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("UI benchmark needs Playwright for Python: pip install playwright (no browser download needed).",
              file=sys.stderr)
        return 2
    latency = latency_of(args)
    log = ROOT / "artifacts" / "bench-ui-streamlit.log"
    try:
        figures = run_ui_bench(latency, max(args.repeat, 1), max(args.sessions, 1), log_path=log)
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        print(f"UI benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    met = print_table(figures, latency)
    print(f"\nGoals (click → status ≤ 1 s, job end → report ≤ 1 s): {'met' if met else 'MISSED'}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
