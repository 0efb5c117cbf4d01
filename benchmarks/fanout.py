"""Benchmarks: both workflows run sequentially and concurrently over HTTP.

``python -m benchmarks`` starts the local OpenAI-compatible stub server on
127.0.0.1 with the stated latencies and runs the real code (real SDK, real
``openai`` client):

- the market pipeline with every step one at a time and concurrently, against
  the critical path (slowest research agent + the longer of its section and
  the summary, which are written in parallel once it lands);
- the company batch at cap 1 and at ``--concurrency``, against the ideal
  (ceil(companies / concurrency) x latency + comparison).

``--ui`` measures the web app in Chromium (:mod:`benchmarks.ui`);
``--pipeline`` compares the pipelined report with a one-shot synthesis (:mod:`benchmarks.pipeline`);
``--grounded`` runs the market workflow with web search and page fetches (:mod:`benchmarks.grounded`);
``--load N`` runs N jobs at once in one job runner (:mod:`benchmarks.load`);
``--salvage`` reads realistic imperfect answers offline (:mod:`benchmarks.salvage`);
``--durable`` measures what checkpointing every step costs, on SQLite and PostgreSQL (:mod:`benchmarks.durable`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from research.config import Settings
from research.core.limits import Limits
from research.core.runs import JobStatus
from research.workflows.market import run_market_research
from tests.support.openai_server import StubOpenAIServer
from tests.support.responders import latency_responder

LATENCY_DEFAULTS = {"market": 1.0, "competitor": 1.5, "customer": 2.0, "section": 0.3, "summary": 0.5}
"""Seconds each agent's answer takes at the stub server by default; "section" is each of the three section writers."""
PIPELINE_AGENTS = tuple(LATENCY_DEFAULTS)
CONCURRENT = 5
"""The cap of the concurrent mode: enough for every step that can run at once (the default concurrency)."""


def critical_path(latency: dict[str, float]) -> float:
    """The shortest possible market run: the slowest research agent, then its section and the summary in parallel."""
    return max(latency["market"], latency["competitor"], latency["customer"]) + max(latency["section"], latency["summary"])


def sequential_path(latency: dict[str, float]) -> float:
    """A market run with one step at a time: every agent, three sections and the summary."""
    return latency["market"] + latency["competitor"] + latency["customer"] + 3 * latency["section"] + latency["summary"]


def add_latency_options(parser: argparse.ArgumentParser) -> None:
    """The ``--market`` ... ``--summary`` latency options shared by the market benchmarks."""
    for key, default in LATENCY_DEFAULTS.items():
        what = "each section writer's" if key == "section" else f"{key} agent"
        parser.add_argument(f"--{key}", type=float, default=default, help=f"{what} latency in s (default {default})")


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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print Markdown tables."""
    argv = sys.argv[1:] if argv is None else argv
    if "--ui" in argv:
        from benchmarks.ui import main as ui_main

        return ui_main(argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    add_latency_options(parser)
    parser.add_argument("--api", choices=["chat_completions", "responses"], default="chat_completions")
    parser.add_argument("--repeat", type=int, default=3, help="pipeline runs per mode; the median is reported")
    parser.add_argument("--companies", type=int, default=20, help="companies in the batch benchmark (default 20)")
    parser.add_argument("--company", type=float, default=1.0, help="company agent latency in s (default 1)")
    parser.add_argument("--comparison", type=float, default=0.5, help="comparison agent latency in s (default 0.5)")
    parser.add_argument("--concurrency", type=int, default=5, help="batch concurrency cap (default 5)")
    parser.add_argument("--load", type=int, metavar="N", help="instead: N concurrent market jobs in one job runner")
    parser.add_argument("--ui", action="store_true", help="instead: the web app in Chromium (see benchmarks.ui)")
    parser.add_argument("--salvage", action="store_true",
                        help="instead: how many imperfect answers are salvaged, offline (see benchmarks.salvage)")
    parser.add_argument("--pipeline", action="store_true",
                        help="instead: the pipelined report against a one-shot synthesis (see benchmarks.pipeline)")
    parser.add_argument("--grounded", action="store_true",
                        help="instead: a market run with web search and page fetches (see benchmarks.grounded)")
    parser.add_argument("--faithfulness", action="store_true",
                        help="instead: the grounding rules on hand-written cases, offline (see benchmarks.faithfulness)")
    parser.add_argument("--durable", action="store_true",
                        help="instead: durable jobs on SQLite and PostgreSQL against in memory (see benchmarks.durable)")
    args = parser.parse_args(argv)
    if args.faithfulness:
        from benchmarks.faithfulness import print_faithfulness_bench

        return 0 if print_faithfulness_bench() else 1
    if args.durable:
        from benchmarks.durable import print_durable_bench

        print_durable_bench(max(args.repeat, 1), args.company)
        return 0
    if args.salvage:
        from benchmarks.salvage import print_filler_and_interrupted_bench, print_salvage_bench

        print_salvage_bench()
        print_filler_and_interrupted_bench()
        return 0
    if args.pipeline:
        from benchmarks.pipeline import print_pipeline_bench as print_report_bench

        print_report_bench()
        return 0
    latency = {k: getattr(args, k) for k in PIPELINE_AGENTS}
    if args.grounded:
        from benchmarks.grounded import print_grounded_bench

        print_grounded_bench(latency, max(args.repeat, 1))
        return 0
    if args.load:
        from benchmarks.load import print_load_bench

        print_load_bench(args.load, latency)
        return 0
    print_pipeline_bench(latency, args.api, max(args.repeat, 1))
    print()
    from benchmarks.batch import print_batch_bench

    print_batch_bench(args.companies, args.company, args.comparison, max(args.concurrency, 1), args.api)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
