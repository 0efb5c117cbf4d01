"""Benchmark of durable jobs: what checkpointing every step costs, on SQLite and on PostgreSQL.

``python -m benchmarks --durable`` runs the same jobs over HTTP against the
local stub server three ways: in memory (no checkpoints), durable on SQLite in
a temporary data folder, and durable on a throw-away PostgreSQL server (when
its binaries are on the machine). It prints:

- the overhead per step: a market job whose model answers at once (7 recorded
  steps), durable minus in-memory wall time, divided by the steps;
- the market fan-out at the default latencies against its critical path;
- a 20-company batch at cap 5 against its ideal (``--company S`` sets a company's latency).

Goals: market fan-out ≤ 1.02 × its critical path, batch ≤ 1.05 × ideal, overhead per step ≤ 5 ms.
"""

from __future__ import annotations

import itertools
import math
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from research.config import Settings
from research.core.runs import JobStatus
from research.inputs import CompanyRequest, MarketRequest
from research.jobs.service import JobService
from research.store import ReportStore
from tests.support.openai_server import StubOpenAIServer
from tests.support.responders import latency_responder

MARKET_STEPS = 7
"""The steps a durable market job records: an agent and a section per research agent, and the summary (evidence
without web search is not recorded: a restarted job gathers it again for nothing)."""
BATCH = (20, 0.5, 5)
"""Companies, seconds for the comparison, cap (seconds per company: ``--company``, default 1)."""


def _timed(mode: str, request: Any, settings: Settings) -> float:
    """Seconds from submit to finished for one job of the job service (durable, or in memory)."""
    durable = mode != "memory"
    jobs = JobService(settings, ReportStore(settings.data_dir, settings.database_url) if durable else None,
                      durable=durable)
    try:
        started = time.perf_counter()
        job_id = jobs.submit(request, again=True)
        jobs.wait(job_id)
        elapsed = time.perf_counter() - started
        snapshot = jobs.snapshot(job_id)
    finally:
        jobs.close()
    if snapshot is None or snapshot.status is not JobStatus.COMPLETE:
        raise SystemExit(f"benchmark run did not complete: {snapshot and snapshot.status.value} "
                         f"{snapshot and snapshot.error or ''}")
    return elapsed


@contextmanager
def _databases() -> Iterator[list[tuple[str, str | None]]]:
    """The modes: in memory, SQLite, and PostgreSQL when a server can be started here."""
    from tests.support.postgres import PostgresUnavailable, postgres_server

    try:
        with postgres_server("bench") as url:
            yield [("memory", None), ("sqlite", None), ("postgres", url)]
    except PostgresUnavailable:
        yield [("memory", None), ("sqlite", None)]


def _settings(server: StubOpenAIServer, folder: str, mode: str, url: str | None) -> Settings:
    return Settings(api_key="bench", base_url=server.base_url, api="chat_completions",  # type: ignore[arg-type]
                    model="stub-model", data_dir=Path(folder), database_url=url, max_concurrency=5,
                    worker_id=f"bench-{mode}")


def run_durable_bench(repeat: int = 3, per_company: float = 1.0) -> dict[str, dict[str, float]]:
    """Median wall times per mode: the zero-latency market job, the default fan-out and the batch."""
    # A topic researched before in the same data folder gets a "what changed" paragraph after its run (one more
    # request); each run here is a first report, so every mode does the same work.
    topics = (MarketRequest.parse(f"plant-based dairy {n}") for n in itertools.count(1))
    companies, comparison, cap = BATCH
    batch = CompanyRequest.parse([f"Benchmark company {i}" for i in range(companies)], cap)
    latency = {"market": 1.0, "competitor": 1.5, "customer": 2.0, "section": 0.3, "summary": 0.5}
    figures: dict[str, dict[str, float]] = {}
    with _databases() as modes:
        for mode, url in modes:
            with tempfile.TemporaryDirectory() as folder:
                with StubOpenAIServer(latency_responder(dict.fromkeys(latency, 0.0))) as server:
                    instant = statistics.median(_timed(mode, next(topics), _settings(server, folder, mode, url))
                                                for _ in range(repeat))
                with StubOpenAIServer(latency_responder(latency)) as server:
                    fanout = statistics.median(_timed(mode, next(topics), _settings(server, folder, mode, url))
                                               for _ in range(repeat))
                with StubOpenAIServer(latency_responder({"company": per_company, "comparison": comparison})) as server:
                    batched = _timed(mode, batch, _settings(server, folder, mode, url))
            figures[mode] = {"instant": instant, "fanout": fanout, "batch": batched}
    critical = max(latency["market"], latency["competitor"], latency["customer"]) + max(latency["section"],
                                                                                      latency["summary"])
    ideal = math.ceil(companies / cap) * per_company + comparison
    for values in figures.values():
        values["per_step_ms"] = (values["instant"] - figures["memory"]["instant"]) / MARKET_STEPS * 1000
        values["fanout_ratio"] = values["fanout"] / critical
        values["batch_ratio"] = values["batch"] / ideal
    return figures


def print_durable_bench(repeat: int = 3, per_company: float = 1.0) -> None:
    """Run the durability benchmark and print a Markdown table."""
    figures = run_durable_bench(repeat, per_company)
    print(f"Durable jobs over HTTP (chat_completions; median of {repeat}; batch: 20 companies of {per_company:g} s, "
          "cap 5)\n")
    print("| Mode | Market, instant model | Overhead per step | Market fan-out | Ratio to critical path "
          "| Batch | Ratio to ideal |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for mode, f in figures.items():
        overhead = "—" if mode == "memory" else f"{f['per_step_ms']:.0f} ms"
        print(f"| {mode} | {f['instant']:.2f} s | {overhead} | {f['fanout']:.2f} s | {f['fanout_ratio']:.3f} "
              f"| {f['batch']:.2f} s | {f['batch_ratio']:.3f} |")
    fanout = max(f["fanout_ratio"] for f in figures.values())
    batch = max(f["batch_ratio"] for f in figures.values())
    step = max((f["per_step_ms"] for mode, f in figures.items() if mode != "memory"), default=0.0)
    for goal, worst, limit, unit in (("market fan-out ≤ 1.02 × critical path", fanout, 1.02, ""),
                                     ("batch ≤ 1.05 × ideal", batch, 1.05, ""),
                                     ("overhead per step ≤ 5 ms", step, 5.0, " ms")):
        print(f"Goal: {goal} — {'meets' if worst <= limit else 'MISSES'} it (worst {worst:.3f}{unit}).")
