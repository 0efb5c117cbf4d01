"""Benchmark of the company batch: sequential (cap 1) against concurrent (cap N) over HTTP."""

from __future__ import annotations

import asyncio
import math
import time

from research.config import Settings
from research.core.limits import Limits
from research.core.runs import JobStatus
from research.workflows.companies import run_company_batch
from tests.support.openai_server import StubOpenAIServer


async def _time_batch(names: list[str], settings: Settings, concurrency: int) -> float:
    started = time.perf_counter()
    result = await run_company_batch(names, settings, limits=Limits(concurrency=concurrency, attempt_timeout=60, max_retries=0))
    if result.status is not JobStatus.COMPLETE:
        raise SystemExit(f"benchmark batch did not complete: {result.status.value} {result.error or ''}")
    return time.perf_counter() - started


def run_batch_bench(companies: int, latency: float, comparison: float, concurrency: int, api: str) -> dict[str, float]:
    """Wall times of one sequential and one concurrent batch, with the ideal and the ratio."""
    from tests.support.responders import latency_responder

    names = [f"Benchmark company {i}" for i in range(companies)]
    with StubOpenAIServer(latency_responder({"company": latency, "comparison": comparison})) as server:
        settings = Settings(api_key="bench", base_url=server.base_url, api=api, model="stub-model")  # type: ignore[arg-type]
        sequential = asyncio.run(_time_batch(names, settings, 1))
        server.reset_stats()
        concurrent = asyncio.run(_time_batch(names, settings, concurrency))
        peak = server.max_in_flight
    ideal = math.ceil(companies / concurrency) * latency + comparison
    return {"sequential": sequential, "concurrent": concurrent, "ideal": ideal, "speedup": sequential / concurrent,
            "ratio": concurrent / ideal, "peak_in_flight": peak}


def print_batch_bench(companies: int, latency: float, comparison: float, concurrency: int, api: str) -> None:
    """Run the batch benchmark and print a Markdown table."""
    f = run_batch_bench(companies, latency, comparison, concurrency, api)
    print(f"Company batch over HTTP ({api}; {companies} companies of {latency:g} s, comparison {comparison:g} s)\n")
    print("| Mode | Wall time | Speedup | Ideal | Ratio to ideal | Peak requests in flight |")
    print("| --- | --- | --- | --- | --- | --- |")
    seq_ideal = companies * latency + comparison
    print(f"| sequential (cap 1) | {f['sequential']:.2f} s | 1.00× | {seq_ideal:.2f} s | {f['sequential'] / seq_ideal:.3f} | 1 |")
    print(f"| concurrent (cap {concurrency}) | {f['concurrent']:.2f} s | {f['speedup']:.2f}× | {f['ideal']:.2f} s | "
          f"{f['ratio']:.3f} | {f['peak_in_flight']} |")
    print(f"\nGoal: ratio ≤ 1.05 — {'meets' if f['ratio'] <= 1.05 else 'MISSES'} it.")
