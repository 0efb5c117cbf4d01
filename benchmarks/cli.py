"""Benchmarks: both workflows run sequentially and concurrently over HTTP.

``python -m benchmarks`` parses the options and runs one benchmark. By default it starts the local
OpenAI-compatible stub server on 127.0.0.1 with the stated latencies and runs the real code (real SDK,
real ``openai`` client):

- the market pipeline with every step one at a time and concurrently, against
  the critical path (:mod:`benchmarks.fanout`);
- the company batch at cap 1 and at ``--concurrency``, against the ideal (:mod:`benchmarks.batch`).

``--ui`` measures the web app in Chromium (:mod:`benchmarks.ui`);
``--pipeline`` compares the pipelined report with a one-shot synthesis (:mod:`benchmarks.pipeline`);
``--grounded`` runs the market workflow with web search and page fetches (:mod:`benchmarks.grounded`);
``--load N`` runs N jobs at once in one job runner (:mod:`benchmarks.load`);
``--salvage`` reads realistic imperfect answers offline (:mod:`benchmarks.salvage`);
``--faithfulness`` checks the grounding rules on hand-written cases offline (:mod:`benchmarks.faithfulness`);
``--durable`` measures what checkpointing every step costs, on SQLite and PostgreSQL (:mod:`benchmarks.durable`);
``--budget`` sets the estimate against the spend and runs under half of it (:mod:`benchmarks.budget`).

This module imports the benchmark modules (each only when its option is chosen, so a run loads only
what it needs); none of them imports it.
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.latency import add_latency_options, latency_of


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m benchmarks`` (``--ui`` has its own, see :func:`benchmarks.ui.main`)."""
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
    parser.add_argument("--budget", action="store_true",
                        help="instead: the estimate against the spend, and runs under half of it (see benchmarks.budget)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark the options ask for and print its Markdown tables; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if "--ui" in argv:
        from benchmarks.ui import main as ui_main

        return ui_main(argv)
    args = build_parser().parse_args(argv)
    if args.faithfulness:
        from benchmarks.faithfulness import print_faithfulness_bench

        return 0 if print_faithfulness_bench() else 1
    if args.durable:
        from benchmarks.durable import print_durable_bench

        print_durable_bench(max(args.repeat, 1), args.company)
        return 0
    if args.budget:
        from benchmarks.budget import print_budget_bench

        print_budget_bench()
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
    latency = latency_of(args)
    if args.grounded:
        from benchmarks.grounded import print_grounded_bench

        print_grounded_bench(latency, max(args.repeat, 1))
        return 0
    if args.load:
        from benchmarks.load import print_load_bench

        print_load_bench(args.load, latency)
        return 0
    from benchmarks.batch import print_batch_bench
    from benchmarks.fanout import print_pipeline_bench

    print_pipeline_bench(latency, args.api, max(args.repeat, 1))
    print()
    print_batch_bench(args.companies, args.company, args.comparison, max(args.concurrency, 1), args.api)
    return 0
