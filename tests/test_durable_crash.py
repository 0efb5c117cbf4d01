"""Crash tests with real processes: kill -9 the command line mid-job, resume it, count the model requests.

The OpenAI-compatible test server answers some agents at once and holds
others open, so the moment of the crash is chosen by the test: one research
agent has finished (its outcome is recorded in the database) while the two
others are still waiting for their answers; or, in the second test, while
the executive summary is being written. ``python -m research --resume``
must then finish the job, and the server must have seen every finished
step's request exactly once.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from research.jobs.durable import RERUN_NOTE
from research.store import ReportStore
from tests.support.crash import WAIT_SECONDS, cli, job_id_of, kill_when, step_recorded, step_status, wait_until
from tests.support.held_server import held_server
from tests.support.postgres import fresh_database


def crash_then_resume(tmp_path: Path, held: set[str], finished_steps: list[str],
                      database_url: str | None = None) -> tuple[Counter[str], str, str]:
    """Run a job until ``finished_steps`` are recorded and ``held`` requests are open, kill -9, resume.

    Returns the requests per schema, the resumed run's stderr and the report it wrote.
    """
    data_dir, out = tmp_path / "data", tmp_path / "report.md"
    env = {"RESEARCH_DATABASE_URL": database_url} if database_url else {}
    with held_server(held) as stub:
        job = kill_when(data_dir, stub, finished_steps, len(held), **env)
        stub.release()
        resumed = cli(["--resume", "--out", str(out)], data_dir, stub.server, **env)
        _, err = resumed.communicate(timeout=WAIT_SECONDS)
        assert resumed.returncode == 0, err
        store = ReportStore(data_dir, database_url)
        row = store.get(job)
        assert row is not None and row.status == "complete"
        return stub.titles(), err, out.read_text()


@pytest.mark.parametrize("database", ["SQLite", "PostgreSQL"])
def test_kill_9_with_one_agent_finished_resumes_without_asking_it_again(database: str, request, tmp_path: Path) -> None:
    # At the crash: the market agent recorded; the two other agents and the market section in flight. On
    # PostgreSQL each agent's step is a workflow in the provider queue, and the market section runs in the slot
    # the market agent's workflow lends on; so a resumed queue step and a resumed lender are both exercised.
    url = fresh_database(request.getfixturevalue("postgres_url"), "crash") if database == "PostgreSQL" else None
    titles, err, report = crash_then_resume(tmp_path, held={"CompetitorReport", "CustomerReport", "SectionText"},
                                            finished_steps=["agent:market"], database_url=url)
    assert titles["MarketData"] == 1  # finished before the crash: never asked again
    assert titles["CompetitorReport"] == 2 and titles["CustomerReport"] == 2  # running at the crash: asked again
    assert titles["SectionText"] == 1 + 3  # the market section again, then the two others
    assert titles["ExecutiveSummary"] == 1
    assert "resumed after a restart: plant-based dairy" in err
    assert RERUN_NOTE in err
    for section in ("Executive Summary", "Market Overview", "Competitive Landscape", "Customer Segments"):
        assert f"## {section}" in report


def test_kill_9_while_the_summary_is_written_keeps_every_finished_step(tmp_path: Path) -> None:
    finished = ["agent:market", "agent:competitor", "agent:customer",
                "section:market", "section:competitor", "section:customer"]
    titles, err, report = crash_then_resume(tmp_path, held={"ExecutiveSummary"}, finished_steps=finished)
    assert titles["MarketData"] == titles["CompetitorReport"] == titles["CustomerReport"] == 1
    assert titles["SectionText"] == 3
    assert titles["ExecutiveSummary"] == 2
    assert "resumed after a restart" in err
    assert "## Executive Summary" in report


def test_resume_with_nothing_to_do_says_so(tmp_path: Path) -> None:
    with held_server(set()) as stub:
        proc = cli(["--resume"], tmp_path / "data", stub.server)
        _, err = proc.communicate(timeout=WAIT_SECONDS)
    assert proc.returncode == 1
    assert "nothing to resume" in err
    assert stub.server.requests == []


def test_the_run_deadline_counts_the_time_the_process_was_down(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with held_server({"CompetitorReport", "CustomerReport"}) as stub:
        job = kill_when(data_dir, stub, ["agent:market"], 2, RESEARCH_RUN_TIMEOUT="3")
        # Downtime, not synchronisation: the process stays down until the job's 3 s are over (it began just
        # after its history row was written).
        time.sleep(max(0.0, ReportStore(data_dir).get(job).created_at + 4.0 - time.time()))
        resumed = cli(["--resume", "--out", str(tmp_path / "r.md")], data_dir, stub.server, RESEARCH_RUN_TIMEOUT="3")
        _, err = resumed.communicate(timeout=WAIT_SECONDS)  # still held: a fresh 3 s would wait for them
        titles = stub.titles()
    assert resumed.returncode == 3, err  # a partial report: the market data, the rest out of time
    assert titles["CompetitorReport"] == 1 and titles["CustomerReport"] == 1  # not asked again after the deadline
    assert titles["MarketData"] == 1
    report = (tmp_path / "r.md").read_text()
    assert "| Figure | Value |" in report and "time limit" in report


def test_a_cancelled_job_is_not_resumed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with held_server({"CustomerReport"}) as stub:
        first = cli(["plant-based dairy"], data_dir, stub.server)
        job = job_id_of(first)
        wait_until(lambda: step_recorded(data_dir, job, "agent:market"), "the market agent recorded")
        wait_until(lambda: stub.server.in_flight == 1, "the held request in flight")
        first.send_signal(signal.SIGINT)  # Ctrl-C: the job is cancelled, and that is recorded
        assert first.wait(timeout=WAIT_SECONDS) == 130
        stub.release()
        before = stub.titles()
        resumed = cli(["--resume"], data_dir, stub.server)
        _, err = resumed.communicate(timeout=WAIT_SECONDS)
        after = stub.titles()
    assert resumed.returncode == 1 and "nothing to resume" in err
    assert after == before  # no request for the cancelled job
    # Finished for DBOS: cancelled there, or ended with its cancelled result first (the two race); never pending.
    assert step_status(data_dir, job) in ("CANCELLED", "SUCCESS")
    assert ReportStore(data_dir).get(job).status == "cancelled"

