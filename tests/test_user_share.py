"""One person's many jobs do not starve another's first request (``RESEARCH_USER_CONCURRENCY``), measured at
the test server: in one process (its own slots, SQLite) and through the deployment's provider queue (DBOS,
partitioned by owner, on PostgreSQL).

Alice starts five reports at once, then Bob starts one; the deployment runs two model requests at once and
each takes 0.2 s. In one process without a per-person share, Bob's first request waits behind Alice's queued
first requests; with a share of one, a slot is always left for him. Through the provider queue he does not
wait even without a share: a process puts at most the deployment's cap of one person's steps in the queue
(the rest wait in the process for a slot lent on), and a lent slot goes back to the queue as soon as the
process has enqueued another person's step (:mod:`research.jobs.lending`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from research.config import load_settings
from research.inputs import MarketRequest
from research.jobs.service import JobService, StepState
from research.owners import Access, Owner
from research.providers.demo_content import demo_output_for
from research.store import ReportStore
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.postgres import fresh_database
from tests.support.responders import schema_title

ALICE = Owner.signed_in("http://127.0.0.1:9400", "alice")
BOB = Owner.signed_in("http://127.0.0.1:9400", "bob")


def respond(request: StubRequest) -> Reply:
    return Reply(content=demo_output_for(schema_title(request), request.user_text), delay=0.2)


HELD = "queued (provider limit)"


def at_the_limit(service: JobService, jobs: list[str]) -> None:
    """Wait until each job has a model request running or held back by the provider limit (its events)."""
    reached = {job: threading.Event() for job in jobs}

    def follow(job: str) -> Callable[[Any], None]:
        def on_event(event: Any) -> None:
            if event.state is StepState.RUNNING and event.key.startswith("agent:") or event.message == HELD:
                reached[job].set()
        return on_event

    for job in jobs:
        sink = follow(job)
        service.watch(job, sink)  # from now on; what happened before, from a snapshot taken after
        for step in service.snapshot(job, Access.of(ALICE)).steps:
            sink(step)
    assert all(event.wait(30) for event in reached.values())


def alices_requests_before_bobs_first(database_url: str | None, share: int | None, tmp_path) -> int:
    """How many of Alice's model requests the server received before Bob's first one."""
    env = {"OPENAI_BASE_URL": "", "RESEARCH_MODEL": "stub-model", "RESEARCH_API": "chat_completions",
           "RESEARCH_SEARCH": "none", "RESEARCH_MAX_CONCURRENCY": "2", "RESEARCH_DATA_DIR": str(tmp_path / "data")}
    if share is not None:
        env["RESEARCH_USER_CONCURRENCY"] = str(share)
    if database_url is not None:
        env["RESEARCH_DATABASE_URL"] = database_url
    with StubOpenAIServer(respond) as server:
        settings = load_settings(env={**env, "OPENAI_BASE_URL": server.base_url}, dotenv_path=None)
        service = JobService(settings, ReportStore(settings.data_dir, settings.database_url))
        try:
            alices = [service.submit(MarketRequest.parse(f"alice market {n}"), owner=ALICE) for n in range(5)]
            at_the_limit(service, alices)  # each of Alice's jobs has a request running or waiting for a slot
            bobs = service.submit(MarketRequest.parse("bob market"), owner=BOB)
            assert all(service.wait(job, 60) for job in [*alices, bobs])
        finally:
            service.close()
        requests = server.requests
        first = next(n for n, request in enumerate(requests) if "bob market" in request.user_text)
        return sum(1 for request in requests[:first] if "alice market" in request.user_text)


@pytest.mark.parametrize("backend", ["process slots (SQLite)", "provider queue (PostgreSQL)"])
def test_a_person_with_many_queued_jobs_does_not_starve_anothers_first_request(backend, request, tmp_path) -> None:
    def database() -> str | None:
        if backend.startswith("process"):
            return None
        return fresh_database(request.getfixturevalue("postgres_url"), "share")

    unfair = alices_requests_before_bobs_first(database(), None, tmp_path / "unfair")
    fair = alices_requests_before_bobs_first(database(), 1, tmp_path / "fair")
    print(f"\n{backend}: Alice's requests before Bob's first: {unfair} without a share, {fair} with a share of 1")
    if backend.startswith("process"):
        assert unfair >= 4, "the scenario starves Bob without a share (else it proves nothing)"
    else:  # Alice's two requests in flight; a slot is lent on again only if Bob's step was enqueued after they ended
        assert unfair <= 4, "Alice's queued steps are not all ahead of Bob's first in the provider queue"
    assert fair <= 2, "with a share of one, a slot is left for Bob's first request (one of Alice's may hand over first)"
