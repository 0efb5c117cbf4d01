"""The fan-out benchmark: the market pipeline run sequentially and concurrently over HTTP.

The default of ``python -m benchmarks`` (see :mod:`benchmarks.cli`, which also runs the company batch of
:mod:`benchmarks.batch` after it): starts the local OpenAI-compatible stub server on 127.0.0.1 with the
stated latencies and runs the real code (real SDK, real ``openai`` client), the market pipeline with every
step one at a time and concurrently, against the critical path (slowest research agent + the longer of its
section and the summary, which are written in parallel once it lands; see :mod:`benchmarks.latency`).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from benchmarks.latency import critical_path, sequential_path
from research.config import Settings
from research.core.limits import Limits
from research.core.runs import JobStatus
from research.workflows.market import run_market_research
from tests.support.openai_server import StubOpenAIServer
from tests.support.responders import latency_responder

CONCURRENT = 5
"""The cap of the concurrent mode: enough for every step that can run at once (the default concurrency)."""


async def _time_run(settings: Settings, concurrency: int) -> float:
    limits = Limits(concurrency=concurrency, attempt_timeout=60, max_retries=0)
    started = time.perf_counter()
    result = await run_market_research("plant-based dairy", settings, limits=limits)
    elapsed = time.perf_counter() - started
    if result.status is not JobStatus.COMPLETE:
        raise SystemExit(f"benchmark run did not complete: {result.status.value} {result.error or ''}")
    return elapsed


def run_pipeline_bench(latency: dict[str, float], api: str, repeat: int) -> dict[str, float]:
    """Median wall times of sequential and concurrent runs, with derived figures."""
    with StubOpenAIServer(latency_responder(latency)) as server:
        settings = Settings(api_key="bench", base_url=server.base_url, api=api, model="stub-model")  # type: ignore[arg-type]
        sequential = statistics.median(asyncio.run(_time_run(settings, 1)) for _ in range(repeat))
        concurrent = statistics.median(asyncio.run(_time_run(settings, CONCURRENT)) for _ in range(repeat))
    critical = critical_path(latency)
    return {
        "sequential": sequential,
        "concurrent": concurrent,
        "speedup": sequential / concurrent,
        "sequential_path": sequential_path(latency),
        "critical_path": critical,
        "ratio": concurrent / critical,
    }


def print_pipeline_bench(latency: dict[str, float], api: str, repeat: int) -> None:
    """Run the market pipeline benchmark and print a Markdown table."""
    figures = run_pipeline_bench(latency, api, repeat)
    lat = ", ".join(f"{k} {v:g} s" for k, v in latency.items())
    print(f"Market pipeline over HTTP ({api}; {lat}; median of {repeat})\n")
    print("| Mode | Wall time | Speedup | Critical path | Ratio to critical path |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| sequential (cap 1) | {figures['sequential']:.2f} s | 1.00× | {figures['critical_path']:.2f} s | "
          f"{figures['sequential'] / figures['critical_path']:.3f} |")
    print(f"| concurrent (cap {CONCURRENT}) | {figures['concurrent']:.2f} s | {figures['speedup']:.2f}× | "
          f"{figures['critical_path']:.2f} s | {figures['ratio']:.3f} |")
    print(f"\nCritical path: slowest research agent + max(section, summary); one step at a time would take "
          f"{figures['sequential_path']:.2f} s.")
    print(f"\nGoal: ratio ≤ 1.05 — {'meets' if figures['ratio'] <= 1.05 else 'MISSES'} it.")
