"""Benchmark: the market pipeline run sequentially and concurrently over HTTP.

``python -m research.bench`` starts the local OpenAI-compatible stub server on
127.0.0.1 with the stated latencies, runs the real pipeline (real SDK, real
``openai`` client) once with the research agents one at a time and once
concurrently, and prints wall times, the speedup and the ratio of the
concurrent time to the critical path (slowest research agent + synthesis).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from research.config import Settings
from research.demo_content import demo_output_for
from research.executor import Limits
from research.pipeline import RunStatus, run_market_research
from research.stub_server import Reply, StubOpenAIServer, StubRequest, text_chunks

TITLES = {"market": "MarketData", "competitor": "CompetitorReport", "customer": "CustomerReport", "synthesis": "ExecutiveReport"}


def latency_responder(latency: dict[str, float]):  # noqa: ANN201 - a Responder
    """A stub responder that answers every agent validly after its latency."""
    by_title = {TITLES[k]: v for k, v in latency.items()}

    def respond(request: StubRequest) -> Reply:
        title = request.schema_title or ""
        content = demo_output_for(title, request.user_text)
        seconds = by_title.get(title, 0.0)
        if not request.stream:
            return Reply(content=content, delay=seconds)
        # Like a real server: the first token after a fifth of the time, the rest spread evenly.
        return Reply(content=content, delay=seconds * 0.2, chunk_delay=seconds * 0.8 / len(text_chunks(content)))

    return respond


async def _time_run(settings: Settings, concurrency: int) -> float:
    limits = Limits(concurrency=concurrency, attempt_timeout=60, max_retries=0)
    started = time.perf_counter()
    result = await run_market_research("plant-based dairy", settings, limits=limits)
    elapsed = time.perf_counter() - started
    if result.status is not RunStatus.COMPLETE:
        raise SystemExit(f"benchmark run did not complete: {result.status.value} {result.error or ''}")
    return elapsed


def run_pipeline_bench(latency: dict[str, float], api: str, repeat: int) -> dict[str, float]:
    """Median wall times of sequential and concurrent runs, with derived figures."""
    with StubOpenAIServer(latency_responder(latency)) as server:
        settings = Settings(api_key="bench", base_url=server.base_url, api=api, model="stub-model")  # type: ignore[arg-type]
        sequential = statistics.median(asyncio.run(_time_run(settings, 1)) for _ in range(repeat))
        concurrent = statistics.median(asyncio.run(_time_run(settings, 3)) for _ in range(repeat))
    critical = max(latency["market"], latency["competitor"], latency["customer"]) + latency["synthesis"]
    return {
        "sequential": sequential,
        "concurrent": concurrent,
        "speedup": sequential / concurrent,
        "critical_path": critical,
        "ratio": concurrent / critical,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m research.bench", description=__doc__.splitlines()[0])
    for key, default in (("market", 1.0), ("competitor", 1.5), ("customer", 2.0), ("synthesis", 0.5)):
        parser.add_argument(f"--{key}", type=float, default=default, help=f"{key} agent latency in s (default {default})")
    parser.add_argument("--api", choices=["chat_completions", "responses"], default="chat_completions")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; the median is reported")
    args = parser.parse_args(argv)
    latency = {k: getattr(args, k) for k in TITLES}
    figures = run_pipeline_bench(latency, args.api, max(args.repeat, 1))
    lat = ", ".join(f"{k} {v:g} s" for k, v in latency.items())
    print(f"Market pipeline over HTTP ({args.api}; {lat}; median of {args.repeat})\n")
    print("| Mode | Wall time | Speedup | Critical path | Ratio to critical path |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| sequential (cap 1) | {figures['sequential']:.2f} s | 1.00× | {figures['critical_path']:.2f} s | "
          f"{figures['sequential'] / figures['critical_path']:.3f} |")
    print(f"| concurrent | {figures['concurrent']:.2f} s | {figures['speedup']:.2f}× | {figures['critical_path']:.2f} s | "
          f"{figures['ratio']:.3f} |")
    verdict = "meets" if figures["ratio"] <= 1.05 else "MISSES"
    print(f"\nGoal: ratio ≤ 1.05 — {verdict} it.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
