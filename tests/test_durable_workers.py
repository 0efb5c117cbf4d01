"""Two worker processes on one PostgreSQL share a batch under one provider limit.

A `python -m research --worker` process and a `python -m research companies …`
process use the same ``RESEARCH_DATABASE_URL`` (a PostgreSQL server the tests
start in a temporary folder). The deployment allows 3 model requests at once
and each process 2, so the batch can only reach 3 at once when both work on
it. The test server counts the requests in flight; the database says which
worker ran the companies' queued step workflows (a slot a step workflow lends on
to its process's next company has no workflow of its own).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from research.providers.demo_content import demo_output_for
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.postgres import fresh_database
from tests.support.responders import schema_title

ROOT = Path(__file__).resolve().parents[1]
COMPANIES = [f"Company {letter}" for letter in "ABCDEFGHIJ"]


def respond(request: StubRequest) -> Reply:
    """Every answer valid; each company profile takes 0.4 s, so several are in flight at once."""
    title = schema_title(request)
    return Reply(content=demo_output_for(title, request.user_text), delay=0.4 if title == "CompanyProfile" else 0.0)


def environment(server: StubOpenAIServer, database: str, worker: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
    env.update({"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_API": "chat_completions",
                "RESEARCH_SEARCH": "none", "RESEARCH_DATABASE_URL": database, "RESEARCH_WORKER_ID": worker,
                "RESEARCH_MAX_CONCURRENCY": "3", "RESEARCH_WORKER_CONCURRENCY": "2",
                "RESEARCH_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)})
    return env


def test_two_workers_share_a_batch_under_a_global_cap_of_3(postgres_url: str, tmp_path: Path) -> None:
    database = fresh_database(postgres_url, "workers")
    server = StubOpenAIServer(respond)
    server.start()
    worker = subprocess.Popen([sys.executable, "-m", "research", "--worker"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=environment(server, database, "worker-b", tmp_path / "b"))
    try:
        assert worker.stderr is not None
        ready = worker.stderr.readline()  # the worker says when it serves the queue
        assert "worker worker-b ready" in ready, ready + worker.stderr.read()
        batch = subprocess.run([sys.executable, "-m", "research", "companies", *COMPANIES, "--concurrency", "10",
                                "--out", str(tmp_path / "batch.md")], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=120, env=environment(server, database, "worker-a", tmp_path / "a"))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.stop()
    assert batch.returncode == 0, batch.stderr
    profiles = [r for r in server.requests if schema_title(r) == "CompanyProfile"]
    assert len(profiles) == len(COMPANIES)  # each company asked once, by one of the two workers
    assert server.max_in_flight == 3  # never more than the deployment's cap, and the cap was reached
    with psycopg.connect(database) as conn:
        rows = conn.execute("SELECT executor_id, count(*) FROM dbos.workflow_status "
                            "WHERE name = 'research.step' AND workflow_uuid ~ %s GROUP BY executor_id",
                            ("^[0-9a-f]{12}:company:",)).fetchall()
    ran = dict(rows)
    assert set(ran) == {"worker-a", "worker-b"}, ran  # both processes did work
    assert sum(ran.values()) <= len(COMPANIES)
    report = (tmp_path / "batch.md").read_text()
    assert all(name in report for name in COMPANIES)


def test_one_process_lends_a_finished_companys_slot_to_its_next_company(postgres_url: str, tmp_path: Path) -> None:
    """On PostgreSQL (the deployment-wide queue) a process's batch puts at most the cap's worth of step workflows
    in the queue at a time; a company past the cap runs in the slot of one that finished, with no workflow of its
    own, and the server never sees more than the cap at once."""
    from research.config import load_settings
    from research.core.runs import JobStatus
    from research.inputs import CompanyRequest
    from research.jobs.service import JobService
    from research.store import ReportStore

    database = fresh_database(postgres_url, "lending")
    with StubOpenAIServer(respond) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_API": "chat_completions",
               "RESEARCH_SEARCH": "none", "RESEARCH_DATABASE_URL": database, "RESEARCH_MAX_CONCURRENCY": "3",
               "RESEARCH_DATA_DIR": str(tmp_path / "data")}
        settings = load_settings(env=env, dotenv_path=None)
        service = JobService(settings, ReportStore(settings.data_dir, settings.database_url))
        try:
            job = service.submit(CompanyRequest.parse(COMPANIES, 10))
            assert service.wait(job, 120)
            snapshot = service.snapshot(job)
        finally:
            service.close()
    assert snapshot is not None and snapshot.status is JobStatus.COMPLETE
    profiles = [r for r in server.requests if schema_title(r) == "CompanyProfile"]
    assert len(profiles) == len(COMPANIES)  # each company asked once
    assert server.max_in_flight == 3  # the cap was reached and never passed
    with psycopg.connect(database) as conn:
        queued = conn.execute("SELECT count(*) FROM dbos.workflow_status WHERE name = 'research.step' "
                              "AND workflow_uuid ~ %s", (f"^{job}:company:",)).fetchone()
    assert queued is not None and 3 <= queued[0] < len(COMPANIES), queued
