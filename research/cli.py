"""Command line for both workflows.

``python -m research "TOPIC" [--out FILE.md] [--json FILE.json] [--demo]``
``python -m research companies NAME [NAME ...] [--file FILE] [--concurrency N]
[--out FILE.md] [--json FILE.json] [--csv FILE.csv] [--demo]``
``python -m research --resume [--out FILE.md] [--json FILE.json]``
``python -m research --worker`` (serve the deployment's queue until Ctrl-C)

Every job runs through the :class:`~research.jobs.service.JobService`, durably:
when the process dies, ``--resume`` finishes this worker's unfinished jobs
and writes their reports. ``--help`` and bad input are answered before the
Agents SDK, openai or DBOS are imported.

Exit status: 0 complete report; 3 partial report; 1 no report; 2 bad input or
configuration, with a one-line message and no request made; 130 cancelled with
Ctrl-C (the report then holds what finished).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from research.config import Settings
    from research.inputs import CompanyRequest, MarketRequest
    from research.jobs.service import JobService
    from research.jobs.snapshots import JobSnapshot

EXIT_OK, EXIT_NO_REPORT, EXIT_USAGE, EXIT_PARTIAL, EXIT_CANCELLED = 0, 1, 2, 3, 130
EXIT_CODES = {"complete": EXIT_OK, "partial": EXIT_PARTIAL, "failed": EXIT_NO_REPORT, "cancelled": EXIT_CANCELLED}
"""By job status (:class:`research.core.runs.JobStatus` values)."""
DEMO_SPEED = 10.0
"""The command line's demo answers this many times faster than the app's, which shows them being written."""
WAIT_SLICE = 0.5
"""Seconds between checks for Ctrl-C while a job runs (the wait itself ends the moment the job does)."""
EPILOG = """other modes:
  python -m research companies NAME ...   profile many companies at once and compare them (see its --help)
  python -m research compare JOB_A JOB_B  what changed between two market reports of the history
  python -m research watch add TOPIC      refresh a topic's report daily, weekly or monthly (see watch --help)
  python -m research --resume             finish the jobs this worker left unfinished when its process stopped
  python -m research --worker             serve the deployment's provider queue and resume this worker's jobs
"""


class UsageError(Exception):
    """Bad command-line usage; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--out", type=Path, metavar="FILE.md", help="write the Markdown report here (default: stdout)")
    parser.add_argument("--json", type=Path, metavar="FILE.json", help="also write the full structured result as JSON")
    parser.add_argument("--demo", action="store_true", help="use the offline demo model (no API key, illustrative data)")
    parser.add_argument("--budget-tokens", metavar="N", help="stop sending requests before the run spends more than N "
                        "tokens (default: RESEARCH_BUDGET_TOKENS); what did not fit is left out (exit 3)")
    parser.add_argument("--budget-usd", metavar="USD", help="the same in estimated USD at the model's price "
                        "(default: RESEARCH_BUDGET_USD)")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    """The settings the command line sets, as environment variables (checked like them)."""
    given = {"RESEARCH_DEMO": "1" if getattr(args, "demo", False) else None,
             "RESEARCH_BUDGET_TOKENS": getattr(args, "budget_tokens", None),
             "RESEARCH_BUDGET_USD": getattr(args, "budget_usd", None)}
    return {name: value for name, value in given.items() if value is not None}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for the market-research command."""
    parser = _Parser(prog="python -m research", description="Research a market with three agents and write an "
                     "executive report.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("topic", help="the market or industry to research, e.g. 'plant-based dairy'")
    return _common(parser)


def build_companies_parser() -> argparse.ArgumentParser:
    """The argument parser for the company batch command."""
    parser = _Parser(prog="python -m research companies", description="Profile many companies at once and compare them.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="company names (trimmed and de-duplicated; at most 50)")
    parser.add_argument("--file", type=Path, help="read more names from this file, one per line")
    parser.add_argument("--concurrency", type=int, metavar="N", help="companies researched at once (default: RESEARCH_MAX_CONCURRENCY)")
    parser.add_argument("--csv", type=Path, metavar="FILE.csv", help="also write one row per company as CSV")
    return _common(parser)


def build_resume_parser() -> argparse.ArgumentParser:
    """The argument parser for resuming the jobs a stopped process left unfinished."""
    parser = _Parser(prog="python -m research --resume", description="Finish the jobs this worker "
                     "(RESEARCH_WORKER_ID) left unfinished when its process stopped, and write their reports.")
    parser.add_argument("--resume", action="store_true", required=True, help="resume unfinished jobs")
    parser.add_argument("--out", type=Path, metavar="FILE.md", help="write the Markdown report here (default: stdout)")
    parser.add_argument("--json", type=Path, metavar="FILE.json", help="also write the full structured result as JSON")
    return parser


def build_compare_parser() -> argparse.ArgumentParser:
    """The argument parser for comparing two reports of the history."""
    parser = _Parser(prog="python -m research compare", description="What changed between two market reports of "
                     "the history (their job ids are in the app's History and its links): sizes, growth, competitors "
                     "and segments that entered, left or moved, figures whose checked status changed, new sources.")
    parser.add_argument("earlier", metavar="JOB_A", help="one report's job id (in either order: the one that "
                                                          "started first is the earlier)")
    parser.add_argument("later", metavar="JOB_B", help="the other report's job id")
    parser.add_argument("--out", type=Path, metavar="FILE.md", help="write the comparison here (default: stdout)")
    parser.add_argument("--json", type=Path, metavar="FILE.json", help="also write it as JSON")
    return parser


def _compare(argv: list[str]) -> int:
    """``python -m research compare``: read both reports from the history, write what changed."""
    try:
        args = build_compare_parser().parse_args(argv)
        for path in (args.out, args.json):
            _check_writable(path)
        from research.config import load_settings

        settings = load_settings()
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except _usage_errors() as exc:
        print(f"research: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from research.jobs.service import JobService
    from research.jobs.snapshots import snapshot_from_store
    from research.reports.changes import render_comparison
    from research.store import ReportStore

    store = ReportStore(settings.data_dir, settings.database_url)
    try:
        comparison = JobService.compare_snapshots(lambda job_id: snapshot_from_store(store, job_id),
                                                  args.earlier, args.later)
    except ValueError as exc:
        print(f"research: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    text = render_comparison(comparison)
    if args.json is not None:
        args.json.write_text(comparison.model_dump_json(indent=2), encoding="utf-8")
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
        print(f"Comparison written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def build_watch_parser() -> argparse.ArgumentParser:
    """The argument parser for watched topics."""
    parser = _Parser(prog="python -m research watch", description="Watched topics: a market report refreshed on a "
                     "schedule by the app or a worker (python -m research --worker), each opening with what changed "
                     "since the last one; RESEARCH_WEBHOOK_URL is told when one is ready.")
    actions = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = actions.add_parser("add", help="watch a topic")
    add.add_argument("topic", help="the market or industry to refresh")
    add.add_argument("--every", default="weekly", metavar="PERIOD",
                     help="daily, weekly (default) or monthly; or a cron expression with seconds first")
    actions.add_parser("list", help="the watched topics")
    remove = actions.add_parser("remove", help="stop watching a topic")
    remove.add_argument("topic")
    return parser


def _watch(argv: list[str]) -> int:
    """``python -m research watch add|list|remove``: the deployment's watched topics (DBOS schedules)."""
    try:
        args = build_watch_parser().parse_args(argv)
        from research.config import load_settings
        from research.inputs import MarketRequest

        request = MarketRequest.parse(args.topic) if args.action != "list" else None
        every = getattr(args, "every", "weekly")
        settings = load_settings()
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except _usage_errors() as exc:
        print(f"research: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from dbos import error as dbos_error

    from research.jobs.watch import Period, Watches

    watches = Watches(settings)
    try:
        if args.action == "add":
            assert request is not None
            period = Period(every) if every in {p.value for p in Period} else every
            watched = watches.add(request, period)
            print(f"research: watching “{watched.topic}” ({watched.every}); the app or a worker refreshes it",
                  file=sys.stderr)
        elif args.action == "remove":
            assert request is not None
            if not watches.remove(request):
                print(f"research: “{request.topic}” is not watched", file=sys.stderr)
                return EXIT_USAGE
            print(f"research: no longer watching “{request.topic}”", file=sys.stderr)
        else:
            for topic in watches.list():
                last = f", last refreshed {topic.last_refreshed}" if topic.last_refreshed else ""
                print(f"{topic.topic}\t{topic.every}{last}")
    except dbos_error.DBOSException as exc:
        print(f"research: {str(exc).splitlines()[0]}", file=sys.stderr)  # e.g. an invalid cron expression
        return EXIT_USAGE
    return EXIT_OK


def build_worker_parser() -> argparse.ArgumentParser:
    """The argument parser for a worker process that serves a deployment's queue."""
    parser = _Parser(prog="python -m research --worker", description="Serve the deployment's provider queue "
                     "(RESEARCH_DATABASE_URL) and resume this worker's unfinished jobs, until Ctrl-C.")
    parser.add_argument("--worker", action="store_true", required=True, help="serve the queue")
    return parser


def _check_writable(path: Path | None) -> None:
    if path is not None and not path.resolve().parent.is_dir():
        raise UsageError(f"cannot write {path}: folder {path.parent} does not exist")


def _read_names(args: argparse.Namespace) -> list[str]:
    names = list(args.names)
    if args.file is not None:
        try:
            names += args.file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {args.file}: {type(exc).__name__}") from None
    if args.concurrency is not None and not 1 <= args.concurrency <= 50:
        raise UsageError("--concurrency must be between 1 and 50")
    return names


def _prepare(argv: list[str]) -> tuple[argparse.Namespace, MarketRequest | CompanyRequest | None]:
    """Parse and check everything before any request: the arguments and the typed request (None: resume)."""
    if argv[:1] == ["--resume"]:
        return build_resume_parser().parse_args(argv), None
    if argv[:1] == ["--worker"]:
        return build_worker_parser().parse_args(argv), None
    if argv[:1] == ["companies"]:
        args = build_companies_parser().parse_args(argv[1:])
        from research.inputs import CompanyRequest

        return args, CompanyRequest.parse(_read_names(args), args.concurrency)
    args = build_parser().parse_args(argv)
    from research.inputs import MarketRequest

    return args, MarketRequest.parse(args.topic)


def _usage_errors() -> tuple[type[Exception], ...]:
    """The errors that mean bad input or configuration: a one-line message and exit 2. Imported only when one is
    raised, so ``--help`` does not load pydantic and the settings model."""
    from research.config import ConfigError
    from research.inputs import InputError

    return UsageError, InputError, ConfigError


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["compare"]:
        return _compare(argv[1:])
    if argv[:1] == ["watch"]:
        return _watch(argv[1:])
    try:
        args, request = _prepare(argv)
        for path in (getattr(args, "out", None), getattr(args, "json", None), getattr(args, "csv", None)):
            _check_writable(path)
        from research.config import load_settings

        settings = load_settings(overrides=_overrides(args))
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except _usage_errors() as exc:
        print(f"research: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from research.config import ConfigError
    from research.logs import route_library_logs

    route_library_logs(settings.data_dir)  # the SDK's own error lines must not interleave with the progress display
    for warning in settings.warnings:
        print(f"research: warning: {warning}", file=sys.stderr)
    service = _start_service(settings, serve_schedules=getattr(args, "worker", False))
    from research.ledger import DailyBudgetSpent

    try:
        if getattr(args, "worker", False):
            return _serve(settings)
        if request is not None and not settings.demo:
            from research.workflows.estimate import estimate

            print(f"research: expected spend: {estimate(request, settings).label}", file=sys.stderr)
        ids = service.unfinished() if request is None else [service.submit(request)]
        if request is not None:
            print(f"research: job {ids[0]} (if this process stops, `python -m research --resume` finishes it)",
                  file=sys.stderr)
        elif not ids:
            print("research: nothing to resume: this worker has no unfinished jobs", file=sys.stderr)
            return EXIT_NO_REPORT
        snapshots = [_until_finished(service, job_id) for job_id in ids]
    except (ConfigError, DailyBudgetSpent) as exc:
        print(f"research: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        service.close()
    codes = [_write(args, snapshot, f"-{snapshot.id}" if len(snapshots) > 1 else "") for snapshot in snapshots]
    return max(codes, key=[EXIT_OK, EXIT_PARTIAL, EXIT_NO_REPORT, EXIT_CANCELLED].index)


def _start_service(settings: Settings, *, serve_schedules: bool = False) -> JobService:
    """The job service of this command, its jobs' progress shown on stderr (imports the engine: slow)."""
    import gc

    gc.disable()  # no collections while the engine's libraries load (about a tenth of their import time)
    try:
        from research.jobs.service import JobService
        from research.progress import ProgressDisplay
        from research.store import ReportStore
        from research.workflows import workflow_for
    finally:
        gc.freeze()  # what was just imported lives as long as the process: the collector need not walk it
        gc.enable()

    def progress(snapshot: JobSnapshot) -> ProgressDisplay:
        if snapshot.resumed:
            print(f"research: resumed after a restart: {snapshot.title} (job {snapshot.id})", file=sys.stderr)
        workflow = workflow_for(snapshot.kind)
        return ProgressDisplay(workflow.step_keys(snapshot.request), sys.stderr, label=workflow.step_label)

    store = ReportStore(settings.data_dir, settings.database_url)
    return JobService(settings, store, demo_speed=DEMO_SPEED, on_job=progress, serve_schedules=serve_schedules)


def _serve(settings: Settings) -> int:
    """Work for the deployment until Ctrl-C: this worker's unfinished jobs, and queued steps."""
    import threading

    print(f"research: worker {settings.worker_id} ready: resuming its unfinished jobs and serving the "
          "provider queue (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _until_finished(service: JobService, job_id: str) -> JobSnapshot:
    """Wait for the job; the first Ctrl-C cancels it (the report then holds what finished)."""
    cancelled = False
    while True:
        try:
            if service.wait(job_id, WAIT_SLICE):
                snapshot = service.snapshot(job_id)
                assert snapshot is not None, "a job this process ran is in memory or in the history"
                return snapshot
        except KeyboardInterrupt:
            if cancelled:
                raise
            cancelled = True
            service.cancel(job_id)


def _write(args: argparse.Namespace, snapshot: JobSnapshot, suffix: str) -> int:
    """Write one job's files and report (a run without a report still writes the files asked for); its exit status."""
    from research.core.steps import duration_label
    from research.reports.exports import CSV, JSON, MARKDOWN, export

    result: Any = snapshot.result
    if result is None:
        print(f"research: no report: {snapshot.error or snapshot.status.value}", file=sys.stderr)
        return EXIT_NO_REPORT
    kind = result.request.kind
    asked = {JSON: args.json, CSV: getattr(args, "csv", None), MARKDOWN: args.out}
    files = {extension: _suffixed(path, suffix) for extension, path in asked.items() if path is not None}
    for extension, path in files.items():
        path.write_text(export(kind, extension).render(result), encoding="utf-8")
    out = files.get(MARKDOWN)
    if result.status == "failed":
        print(f"research: no report: {_headline(result.error)} ({_reasons_where(out)})", file=sys.stderr)
        return EXIT_NO_REPORT
    if out is not None:
        print(f"Report written to {out} ({result.status.value}, {duration_label(result.elapsed)})", file=sys.stderr)
    else:
        sys.stdout.write(export(kind, MARKDOWN).render(result))
    if result.status == "cancelled":
        print("research: cancelled; the report holds what finished", file=sys.stderr)
    return EXIT_CODES[result.status]


def _headline(error: str | None) -> str:
    """Why there is no report, without each step's reason: :func:`research.core.runs.overall_status` writes
    "every research agent failed (market: …; …)", and the steps' reasons are shown elsewhere."""
    return (error or "the run failed").split(" (", 1)[0]


def _reasons_where(out: Path | None) -> str:
    """Where the user reads each step's reason: above, in the progress lines, and in the report file if one was written."""
    return f"each step's reason is above and in {out}" if out is not None else "each step's reason is above"


def _suffixed(path: Path, suffix: str) -> Path:
    return path.with_name(f"{path.stem}{suffix}{path.suffix}") if suffix else path
