"""Whose jobs are whose: every rule of a shared deployment, in the store and in the job service, on SQLite and
PostgreSQL. Another person's job is "not found" (never "not yours"); a shared history is read-only; an admin
may delete any report; the same request of two people is two jobs; "what changed" compares one's own runs."""

from __future__ import annotations

import pytest

from research.config import load_settings
from research.inputs import MarketRequest
from research.jobs.service import JobService, JobStatus
from research.owners import LOCAL, LOCAL_ACCESS, Access, Owner
from research.store import ReportStore, new_job_id

ALICE = Owner.signed_in("http://127.0.0.1:9400", "alice", "Alice@Example.com", "Alice")
BOB = Owner.signed_in("http://127.0.0.1:9400", "bob", "bob@example.com")
MALLORY = Owner.signed_in("http://evil.example", "alice", "alice@example.com")  # another issuer's "alice"
TOPIC = MarketRequest.parse("plant-based dairy")


def test_the_store_keeps_each_persons_jobs_apart(database_url, tmp_path) -> None:
    store = ReportStore(tmp_path / "data", database_url)
    ids = {}
    for name, owner in (("alice", ALICE), ("bob", BOB), ("local", LOCAL)):
        ids[name] = new_job_id()
        store.record_started(ids[name], request=TOPIC, provider="demo", model="demo", demo=True, created_at=1.0,
                             owner=owner.id)
    with store.engine.begin() as conn:  # a row of an older release, which had no owners: the local user's
        old = new_job_id()
        conn.execute(store.jobs.insert().values(id=old, kind="market", topic="old", status="complete",
                                                created_at=0.5, provider="demo", model="demo", demo=1))
    assert [j.id for j in store.list(owner=ALICE.id)] == [ids["alice"]]
    assert {j.id for j in store.list(owner=LOCAL.id)} == {ids["local"], old}
    assert store.list(owner=MALLORY.id) == [], "a subject is only the same person at the same issuer"
    assert len(store.list()) == 4
    assert store.get(ids["bob"], owner=ALICE.id) is None and store.get(ids["bob"]).owner == BOB.id
    assert not store.delete(ids["bob"], owner=ALICE.id) and store.get(ids["bob"]) is not None
    assert store.delete(ids["alice"], owner=ALICE.id) and store.get(ids["alice"]) is None
    store.close()


@pytest.fixture
def service(database_url, tmp_path):
    settings = load_settings(env={"RESEARCH_DEMO": "1", "RESEARCH_DATA_DIR": str(tmp_path / "data")}, dotenv_path=None)
    jobs = JobService(settings, ReportStore(settings.data_dir, database_url), durable=False, demo_speed=200)
    yield jobs
    jobs.close()


def finished(service: JobService, owner: Owner, request: MarketRequest = TOPIC) -> str:
    job_id = service.submit(request, owner=owner)
    assert service.wait(job_id, 30)
    return job_id


def test_another_persons_job_is_not_found_and_cannot_be_changed(service) -> None:
    alices = finished(service, ALICE)
    alice, bob = Access.of(ALICE), Access.of(BOB)
    assert service.snapshot(alices, alice).status is JobStatus.COMPLETE
    assert service.snapshot(alices, bob) is None, "a link to another person's job is not found"
    assert service.snapshot(alices, LOCAL_ACCESS) is None, "the local user (the command line) is a person too"
    assert [j.id for j in service.history(access=alice)] == [alices] and service.history(access=bob) == []
    assert service.run_again(alices, access=bob) is None and service.retry_failed(alices, access=bob) is None
    with pytest.raises(ValueError, match="no market report"):
        service.compare(alices, finished(service, BOB), bob)
    assert not service.delete(alices, bob) and service.snapshot(alices, alice) is not None
    assert service.delete(alices, alice) and service.snapshot(alices, alice) is None


def test_a_running_job_is_cancelled_only_by_its_owner(database_url, tmp_path) -> None:
    settings = load_settings(env={"RESEARCH_DEMO": "1", "RESEARCH_DATA_DIR": str(tmp_path / "data")}, dotenv_path=None)
    slow = JobService(settings, ReportStore(settings.data_dir, database_url), durable=False, demo_speed=0.05)
    try:
        job_id = slow.submit(TOPIC, owner=ALICE)
        assert not slow.cancel(job_id, Access.of(BOB))
        assert slow.snapshot(job_id, Access.of(ALICE)).status is JobStatus.RUNNING
        assert slow.cancel(job_id, Access.of(ALICE)) and slow.wait(job_id, 30)
        assert slow.snapshot(job_id, Access.of(ALICE)).status is JobStatus.CANCELLED
    finally:
        slow.close()


def test_the_same_request_of_two_people_is_two_jobs_and_runs_again_as_the_askers_own(service) -> None:
    alices, bobs = service.submit(TOPIC, owner=ALICE), service.submit(TOPIC, owner=BOB)
    assert alices != bobs, "Bob's click does not attach him to Alice's running job"
    assert service.submit(TOPIC, owner=ALICE) == alices, "a second click of Alice's attaches to hers"
    assert service.wait(alices, 30) and service.wait(bobs, 30)
    again = service.run_again(alices, access=Access.of(ALICE))
    assert again is not None and service.snapshot(again, Access.of(ALICE)).owner == ALICE.id


def test_a_shared_history_is_read_only_and_an_admin_may_delete_any_report(service) -> None:
    alices = finished(service, ALICE)
    shared = Access.of(BOB, shared=True)
    assert [(j.id, j.owner_name) for j in service.history(access=shared)] == [(alices, "Alice")], \
        "the history names whose each report is (her name; an e-mail address when the provider gives no name)"
    assert service.snapshot(alices, shared).owner_name == "Alice"
    bobs = finished(service, BOB)
    assert service.snapshot(bobs, shared).owner_name == "bob@example.com"
    assert service.store.name_of(ALICE.id) == "Alice" and service.store.name_of(MALLORY.id) is None
    assert not shared.may_change(ALICE.id) and service.run_again(alices, access=shared) is None
    assert not service.delete(alices, shared), "read-only"
    admin = Access.of(BOB, admins=frozenset({"BOB@example.com"}))  # e-mail addresses in any case
    assert admin.admin and not Access.of(BOB, admins=frozenset({"alice"})).admin
    assert [j.id for j in service.history(access=admin)] == [bobs, alices]
    assert service.delete(alices, admin) and service.snapshot(alices, Access.of(ALICE)) is None


def test_what_changed_compares_a_persons_own_runs_only(service) -> None:
    finished(service, ALICE)
    bobs_first = service.snapshot(finished(service, BOB), Access.of(BOB))
    assert bobs_first.result.changes is None, "Alice's earlier report is not Bob's to compare with"
    bobs_second = service.snapshot(finished(service, BOB), Access.of(BOB))
    assert bobs_second.result.changes is not None and bobs_second.result.changes.earlier_id == bobs_first.id
