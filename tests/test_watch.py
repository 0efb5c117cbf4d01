"""Watched topics: refreshed on DBOS's schedules once per period across two workers, through a restart, with a
webhook to a local receiver.

Two `python -m research --worker` processes share a PostgreSQL database (the tests start a server in a temporary
folder) and the OpenAI-compatible test server; the topic is refreshed every 4 seconds. A local webhook receiver
records what it is sent (private addresses are allowed with RESEARCH_FETCH_PRIVATE=1, as a deployment posting to
its own intranet would set).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest

from research.jobs.watch import post_webhook
from research.providers.demo_content import demo_output_for
from research.retrieval.guard import Refused
from tests.support.local_server import LocalServer, QuietHandler
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.postgres import fresh_database
from tests.support.responders import schema_title

ROOT = Path(__file__).resolve().parents[1]
EVERY = "*/4 * * * * *"
WAIT = 90.0


class Receiver(LocalServer):
    """A webhook receiver: keeps each JSON body it is sent, answers 204."""

    thread_name: ClassVar[str] = "webhook-receiver"

    class handler(QuietHandler):  # noqa: N801 - the base class names its handler this way
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with self.server.owner.arrived:
                self.server.owner.received.append(json.loads(body))
                self.server.owner.keys.append(self.headers.get("Idempotency-Key", ""))
                self.server.owner.arrived.notify_all()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, Any]] = []
        self.keys: list[str] = []
        """Each post's Idempotency-Key header."""
        self.arrived = threading.Condition()
        """Notified with each body received."""

    def reports(self) -> int:
        """How many different reports have been announced (a repeated post of one report counts once)."""
        return len({hook["job_id"] for hook in self.received})

    def wait_for(self, count: int, what: str) -> None:
        """Block until ``count`` different reports have been announced (AssertionError after :data:`WAIT` s)."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: self.reports() >= count, WAIT), f"timed out waiting for {what}"

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/hook"


def respond(request: StubRequest) -> Reply:
    return Reply(content=demo_output_for(schema_title(request), request.user_text))


def environment(server: StubOpenAIServer, database: str, worker: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
    env.update({"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_API": "chat_completions",
                "RESEARCH_SEARCH": "none", "RESEARCH_DATABASE_URL": database, "RESEARCH_WORKER_ID": worker,
                "RESEARCH_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), **extra})
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    worker = subprocess.Popen([sys.executable, "-m", "research", "--worker"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    assert worker.stderr is not None
    ready = worker.stderr.readline()
    assert "ready" in ready, ready + worker.stderr.read()
    threading.Thread(target=worker.stderr.read, daemon=True).start()  # keep the pipe drained
    return worker


def test_a_watched_topic_is_refreshed_once_per_period_by_two_workers_through_a_restart(postgres_url: str,
                                                                                        tmp_path: Path) -> None:
    database = fresh_database(postgres_url, "watch")
    with StubOpenAIServer(respond) as server, Receiver() as receiver:
        hooks = {"RESEARCH_WEBHOOK_URL": receiver.url, "RESEARCH_FETCH_PRIVATE": "1"}
        added = subprocess.run([sys.executable, "-m", "research", "watch", "add", "Vertical farming", "--every", EVERY],
                               capture_output=True, text=True, timeout=60,
                               env=environment(server, database, "admin", tmp_path / "admin"))
        assert added.returncode == 0, added.stderr
        workers = {name: start_worker(environment(server, database, name, tmp_path / name, **hooks))
                   for name in ("worker-a", "worker-b")}
        try:
            receiver.wait_for(2, "two refreshes announced")
            workers["worker-a"].send_signal(signal.SIGKILL)  # a crash: no clean-up of any kind
            workers["worker-a"].wait(timeout=10)
            workers["worker-a"] = start_worker(environment(server, database, "worker-a", tmp_path / "worker-a",
                                                           **hooks))
            with receiver.arrived:
                seen = receiver.reports()
            receiver.wait_for(seen + 2, "two more refreshes after the restart")
        finally:
            for worker in workers.values():
                worker.send_signal(signal.SIGINT)
            for worker in workers.values():
                worker.wait(timeout=60)
    with psycopg.connect(database) as conn:
        refreshes = conn.execute("SELECT workflow_uuid, status FROM dbos.workflow_status "
                                 "WHERE name = 'research.refresh'").fetchall()
        jobs = conn.execute("SELECT id, status FROM jobs WHERE topic = 'Vertical farming'").fetchall()
    periods = [uuid.rsplit("-", 3)[-3:] for uuid, _ in refreshes]
    assert len({tuple(p) for p in periods}) == len(refreshes), "one refresh per scheduled time"
    assert len(jobs) == len(refreshes), "each refresh made exactly one job, whichever worker ran it"
    posted = [hook["job_id"] for hook in receiver.received]
    assert receiver.keys == posted, "each post's Idempotency-Key is its job, so a receiver can drop a repeat"
    assert set(posted) <= {job_id for job_id, _ in jobs} and len(set(posted)) >= 4, "the reports announced"
    repeats = len(posted) - len(set(posted))
    assert repeats <= 1, "at most the post that was in flight when worker-a was killed is repeated"
    assert {hook["topic"] for hook in receiver.received} == {"Vertical farming"}
    assert all(hook["status"] == "complete" and hook["link"] == f"/research?job={hook['job_id']}"
               for hook in receiver.received)
    assert any(hook["changes"].get("since") for hook in receiver.received[1:]), "later reports say what changed"


def test_a_webhook_to_a_private_address_is_refused_unless_allowed() -> None:
    with Receiver() as receiver:
        with pytest.raises(Refused):
            asyncio.run(post_webhook(receiver.url, "{}", allow_private=False))
        assert asyncio.run(post_webhook(receiver.url, '{"ok": true}', allow_private=True)) == 204
    assert receiver.received == [{"ok": True}]
