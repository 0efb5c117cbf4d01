"""A grounded market run over HTTP: web search, page fetches and models at their stated latencies.

``python -m benchmarks --grounded`` starts three servers on 127.0.0.1 (the OpenAI-compatible stub,
a SearXNG-compatible search server and a page server) and runs the real market workflow with web
search on. Per research agent, its ``evidence:`` step sends two queries at once (0.5 s each) and
reads the top four pages concurrently (0.3 to 1.0 s each); then the agent answers (1.0 / 1.5 /
2.0 s), its section is written (0.3 s), and the summary (0.5 s) after the last agent. The complete
report is measured against its critical path, search + slowest page + slowest agent +
max(section, summary), and the first section against search + slowest page + fastest agent +
section. The servers count the searches and page fetches each run made; each agent's evidence
step is timed against search + slowest page, and the most page fetches in flight at once is kept.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, replace

from research.config import SearchChoice, Settings
from research.core.limits import Limits
from research.core.runs import JobStatus
from research.core.steps import StatusEvent, StepState
from research.retrieval.evidence import queries_for
from research.workflows.market import RESEARCH_SPECS, run_market_research
from tests.support.openai_server import StubOpenAIServer
from tests.support.page_server import PageServer
from tests.support.responders import latency_responder
from tests.support.search_server import SearchServer, result

TOPIC = "plant-based dairy"
SEARCH_SECONDS = 0.5
"""Seconds every search takes at the search server."""
PAGE_SECONDS = (0.3, 0.55, 0.75, 1.0)
"""Seconds each of an agent's four pages takes at the page server (every agent has its own four)."""
LIMITS = Limits(concurrency=5, attempt_timeout=60, max_retries=0)
AGENTS = tuple(spec.key for spec in RESEARCH_SPECS)


def critical_paths(latency: dict[str, float]) -> tuple[float, float]:
    """``(first section, complete report)``: the shortest possible times, from the constants."""
    evidence = SEARCH_SECONDS + max(PAGE_SECONDS)
    agents = [latency[agent] for agent in AGENTS]
    return evidence + min(agents) + latency["section"], evidence + max(agents) + max(latency["section"],
                                                                                     latency["summary"])


def search_results(pages: PageServer) -> dict[str, list[dict]]:
    """Each agent's two queries: the first finds its pages 1-3, the second pages 3, 4 and 1 again."""
    results = {}
    for number, agent in enumerate(AGENTS):
        urls = [pages.url(f"/page/{4 * number + i + 1}?ms={round(s * 1000)}") for i, s in enumerate(PAGE_SECONDS)]
        hits = [result(f"{agent} source {i + 1}", url, "Heat pump market figures.") for i, url in enumerate(urls)]
        first, second = queries_for(agent, TOPIC)
        results[first], results[second] = hits[:3], [hits[2], hits[3], hits[0]]
    return results


@dataclass(frozen=True)
class Run:
    """One market run: its milestones, each agent's evidence step, and what the servers saw."""

    first: float
    done: float
    evidence: dict[str, float]
    searches: int = 0
    fetches: int = 0
    distinct_pages: int = 0


async def _measure(settings: Settings) -> Run:
    """One market run, timed: the first section done, the complete report, each evidence step."""
    first: list[float] = []
    started = time.perf_counter()

    def on_event(event: StatusEvent) -> None:
        if event.key.startswith("section:") and event.state is StepState.DONE and not first:
            first.append(time.perf_counter() - started)

    result = await run_market_research(TOPIC, settings, limits=LIMITS, on_event=on_event)
    done = time.perf_counter() - started
    if result.status is not JobStatus.COMPLETE:
        raise SystemExit(f"benchmark run did not complete: {result.status.value} {result.error or ''}")
    read = {agent: o.result.pages_read if o.result else 0 for agent, o in result.evidence.items()}
    if any(n != len(PAGE_SECONDS) for n in read.values()):
        raise SystemExit(f"benchmark run did not read every page: {read}")
    return Run(first[0], done, {agent: o.elapsed or 0.0 for agent, o in result.evidence.items()})


def run_grounded_bench(latency: dict[str, float], repeat: int) -> tuple[list[Run], int]:
    """``repeat`` runs against the three servers, and the most page fetches in flight at once."""
    runs: list[Run] = []
    with StubOpenAIServer(latency_responder(latency)) as models, SearchServer() as search, PageServer() as pages:
        search.delay, search.results = SEARCH_SECONDS, search_results(pages)
        settings = Settings(api_key="bench", base_url=models.base_url, api="chat_completions", model="stub-model",
                            search=SearchChoice.SEARXNG, searxng_url=search.base_url, fetch_private=True)
        for _ in range(repeat):
            searched, fetched = len(search.requests), len(pages.paths)
            run = asyncio.run(_measure(settings))
            paths = pages.paths[fetched:]
            runs.append(replace(run, searches=len(search.requests) - searched, fetches=len(paths),
                                distinct_pages=len(set(paths))))
    return runs, pages.max_in_flight


def print_grounded_bench(latency: dict[str, float], repeat: int) -> None:
    """Run the grounded market benchmark and print Markdown tables: per run, then medians against critical paths."""
    runs, in_flight = run_grounded_bench(latency, repeat)
    first_cp, done_cp = critical_paths(latency)
    first, done = statistics.median(r.first for r in runs), statistics.median(r.done for r in runs)
    agents = " / ".join(f"{latency[a]:g}" for a in AGENTS)
    print(f"Grounded market run over HTTP (search {SEARCH_SECONDS:g} s, pages {min(PAGE_SECONDS):g}–"
          f"{max(PAGE_SECONDS):g} s, agents {agents} s, sections {latency['section']:g} s, "
          f"summary {latency['summary']:g} s; median of {repeat})\n")
    print(f"| Run | First section | Complete report | Evidence steps ({' / '.join(AGENTS)}) | Searches | Page fetches |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n, r in enumerate(runs, 1):
        steps = " / ".join(f"{r.evidence[a]:.2f}" for a in AGENTS)
        print(f"| {n} | {r.first:.2f} s | {r.done:.2f} s | {steps} s | {r.searches} | "
              f"{r.fetches} ({r.distinct_pages} distinct) |")
    print("\n| Milestone | Wall time (median) | Critical path | Ratio |")
    print("| --- | --- | --- | --- |")
    print(f"| first section on screen | {first:.2f} s | {first_cp:.2f} s | {first / first_cp:.3f} |")
    print(f"| complete report | {done:.2f} s | {done_cp:.2f} s | {done / done_cp:.3f} |")
    slowest = max(latency[a] for a in AGENTS)
    print(f"\nCritical path: search {SEARCH_SECONDS:g} s + slowest page {max(PAGE_SECONDS):g} s + slowest agent "
          f"{slowest:g} s + max(section, summary) {max(latency['section'], latency['summary']):g} s = {done_cp:.2f} s "
          f"(first section: the fastest agent and its section). Each evidence step's own path is "
          f"{SEARCH_SECONDS + max(PAGE_SECONDS):.2f} s; each agent's two searches return {len(PAGE_SECONDS) + 2} "
          f"hits for {len(PAGE_SECONDS)} pages. At most {in_flight} page fetches were in flight at once.")
    print(f"\nGoal: ratio ≤ 1.05 — {'meets' if done / done_cp <= 1.05 else 'MISSES'} it.")
