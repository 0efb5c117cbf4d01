"""Command line: ``python -m research "TOPIC" [--out FILE.md] [--json FILE.json] [--demo]``.

Exit status: 0 complete report; 3 partial report; 1 no report; 2 bad input or
configuration, with a one-line message and no request made; 130 cancelled with
Ctrl-C (the report then holds what finished).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import NoReturn

from research.config import ConfigError, load_settings
from research.pipeline import AGENT_KEYS, MarketResearchResult, RunStatus, run_market_research
from research.progress import ProgressDisplay
from research.report import render_json, render_markdown
from research.validation import InputError, validate_topic

EXIT_OK, EXIT_NO_REPORT, EXIT_USAGE, EXIT_PARTIAL, EXIT_CANCELLED = 0, 1, 2, 3, 130
EXIT_CODES = {
    RunStatus.COMPLETE: EXIT_OK,
    RunStatus.PARTIAL: EXIT_PARTIAL,
    RunStatus.FAILED: EXIT_NO_REPORT,
    RunStatus.CANCELLED: EXIT_CANCELLED,
}


class UsageError(Exception):
    """Bad command-line usage; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for the market-research command."""
    parser = _Parser(prog="python -m research", description="Research a market with three agents and write an executive report.")
    parser.add_argument("topic", help="the market or industry to research, e.g. 'plant-based dairy'")
    parser.add_argument("--out", type=Path, metavar="FILE.md", help="write the Markdown report here (default: stdout)")
    parser.add_argument("--json", type=Path, metavar="FILE.json", help="also write the full structured result as JSON")
    parser.add_argument("--demo", action="store_true", help="use the offline demo model (no API key, illustrative data)")
    return parser


def _check_writable(path: Path | None) -> None:
    if path is not None and not path.resolve().parent.is_dir():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")


async def _run(topic: str, settings, display: ProgressDisplay) -> MarketResearchResult:  # noqa: ANN001
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, cancel.set)
    except (NotImplementedError, RuntimeError):  # not on the main thread, or no signals here
        pass
    try:
        return await run_market_research(topic, settings, on_event=display, cancel=cancel)
    finally:
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError):
            pass


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status."""
    try:
        args = build_parser().parse_args(argv)
        topic = validate_topic(args.topic)
        _check_writable(args.out)
        _check_writable(args.json)
        settings = load_settings(overrides={"RESEARCH_DEMO": "1"} if args.demo else None)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (UsageError, InputError, ConfigError) as exc:
        print(f"research: {exc}", file=sys.stderr)
        return EXIT_USAGE

    display = ProgressDisplay(list(AGENT_KEYS), sys.stderr)
    try:
        result = asyncio.run(_run(topic, settings, display))
    except ConfigError as exc:
        print(f"research: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C before the run could install its handler
        print("research: cancelled", file=sys.stderr)
        return EXIT_CANCELLED

    if args.json:
        args.json.write_text(render_json(result), encoding="utf-8")
    if result.status is RunStatus.FAILED:
        print(f"research: no report: {result.error}", file=sys.stderr)
        return EXIT_NO_REPORT
    report = render_markdown(result)
    if args.out:
        args.out.write_text(report, encoding="utf-8")
        print(f"Report written to {args.out} ({result.status.value}, {result.elapsed:.1f} s)", file=sys.stderr)
    else:
        sys.stdout.write(report)
    if result.status is RunStatus.CANCELLED:
        print("research: cancelled; the report holds what finished", file=sys.stderr)
    return EXIT_CODES[result.status]
