"""Driving `python -m research` as a real process for the crash tests: start it, wait, kill it with SIGKILL.

Waits poll a condition (the database's record of a step, the test server's
requests in flight) with a bound, so a broken run fails instead of hanging.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import psycopg

from research.store import DB_FILENAME
from tests.support.held_server import HeldServer
from tests.support.openai_server import StubOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def cli(args: list[str], data_dir: Path, server: StubOpenAIServer, **extra: str) -> subprocess.Popen[str]:
    """Start `python -m research ARGS` as a user would, on the test server and the data folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
    env.update({"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_API": "chat_completions",
                "RESEARCH_DATA_DIR": str(data_dir), "RESEARCH_SEARCH": "none", "RESEARCH_WORKER_ID": "crash-test",
                "PYTHONPATH": str(ROOT), **extra})
    return subprocess.Popen([sys.executable, "-m", "research", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)


def job_id_of(proc: subprocess.Popen[str]) -> str:
    """The job id the command line announces on stderr."""
    assert proc.stderr is not None
    for line in proc.stderr:
        match = re.match(r"research: job ([0-9a-f]{12})", line)
        if match:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
            return match.group(1)
    raise AssertionError(f"no job id announced (exit {proc.wait()})")


def step_status(data_dir: Path, workflow_id: str) -> str | None:
    """The recorded DBOS status of a workflow, read straight from the database file."""
    with closing(sqlite3.connect(data_dir / DB_FILENAME, timeout=10)) as conn:
        row = conn.execute("SELECT status FROM workflow_status WHERE workflow_uuid = ?", (workflow_id,)).fetchone()
    return row[0] if row else None


def step_recorded(data_dir: Path, job_id: str, key: str, database_url: str | None = None) -> bool:
    """True once DBOS has recorded the outcome of the job's step ``key`` (a step in the job's operation log), in
    the data folder's SQLite file or the PostgreSQL database of ``database_url``."""
    if database_url is not None:
        with psycopg.connect(database_url) as pg:
            found = pg.execute("SELECT output FROM dbos.operation_outputs WHERE workflow_uuid = %s "
                               "AND function_name = %s", (job_id, key)).fetchone()
        return found is not None and found[0] is not None
    with closing(sqlite3.connect(data_dir / DB_FILENAME, timeout=10)) as conn:
        row = conn.execute("SELECT output FROM operation_outputs WHERE workflow_uuid = ? AND function_name = ?",
                           (job_id, key)).fetchone()
    return row is not None and row[0] is not None


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds (bounded, so a broken run fails instead of hanging)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def kill_when(data_dir: Path, stub: HeldServer, recorded: list[str], in_flight: int, **env: str) -> str:
    """Start a market job in the command line; SIGKILL it once the steps ``recorded`` are in the database and
    ``in_flight`` held requests are open. Returns the job id."""
    first = cli(["plant-based dairy"], data_dir, stub.server, **env)
    try:
        job = job_id_of(first)
        for key in recorded:
            wait_until(lambda key=key: step_recorded(data_dir, job, key, env.get("RESEARCH_DATABASE_URL")),
                       f"{key} recorded")
        wait_until(lambda: stub.server.in_flight == in_flight, f"{in_flight} held requests in flight")
    finally:
        first.kill()  # SIGKILL: no clean-up of any kind
        first.wait(timeout=10)
    assert first.returncode == -9
    return job
