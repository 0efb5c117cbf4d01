"""The stub server's latencies shared by the market benchmarks, the market run's ideal times, and their options.

Imported by the benchmark modules (:mod:`benchmarks.fanout`, :mod:`benchmarks.load`, :mod:`benchmarks.ui`) and
by :mod:`benchmarks.cli`; it imports none of them.
"""

from __future__ import annotations

import argparse

LATENCY_DEFAULTS = {"market": 1.0, "competitor": 1.5, "customer": 2.0, "section": 0.3, "summary": 0.5}
"""Seconds each agent's answer takes at the stub server by default; "section" is each of the three section writers."""
PIPELINE_AGENTS = tuple(LATENCY_DEFAULTS)
"""The names of the market run's latencies (the keys of :data:`LATENCY_DEFAULTS`, and the options' names)."""


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


def latency_of(args: argparse.Namespace) -> dict[str, float]:
    """The latencies the parsed options ask for, by agent (the options :func:`add_latency_options` added)."""
    return {key: getattr(args, key) for key in PIPELINE_AGENTS}
