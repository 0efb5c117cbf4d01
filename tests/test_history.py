"""The History page through AppTest (headers, search, filters, durations, downloads, delete, run again),
and the store features it uses (filtered listing, the run's elapsed time, upgrading an older database)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from stub import Plan, serve

from research.config import load_settings
from research.core.runs import JobStatus
from research.inputs import CompanyRequest, MarketRequest, WorkflowKind
from research.reports.exports import EXPORTS
from research.store import DB_FILENAME, ReportStore, new_job_id
from tests.support.requests import request_for
from ui import runtime

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HEADERS = ["**Report**", "**Started**", "**Status**", "**Duration**"]


@pytest.fixture
def server(monkeypatch, tmp_path):
    """The app talks to a stub server; history goes to a fresh folder; caches start empty."""
    st.cache_resource.clear()
    with serve(Plan()) as stub:
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        monkeypatch.setenv("RESEARCH_MODEL", "stub-model")
        monkeypatch.setenv("RESEARCH_DATA_DIR", str(tmp_path / "data"))
        yield stub
    st.cache_resource.clear()


def history() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("pages/History.py").run()
    assert not at.exception
    return at


def finished(request: MarketRequest | CompanyRequest) -> str:
    """Run ``request`` to the end on the app's job runner; its job id."""
    job_id = runtime.jobs().submit(request, load_settings())
    assert runtime.jobs().wait(job_id, 30)
    return job_id


def saved(store: ReportStore, topic: str, *, kind: str = "market", status: str = "complete", created_at: float = 1000.0,
          finished_at: float | None = 1010.0, elapsed: float | None = None) -> str:
    """A job row written directly (no result), as an older release or another process would leave it."""
    job_id = new_job_id()
    store.record_started(job_id, request=request_for(kind, topic), provider="p", model="m", demo=False, created_at=created_at)
    if finished_at is not None:
        store.record_finished(job_id, status=status, finished_at=finished_at, result_json="", elapsed=elapsed)
    return job_id


def topics(at: AppTest) -> list[str]:
    """The topics of the listed jobs, top to bottom."""
    return [m.value.split("**")[1] for m in at.markdown if m.value.startswith("**") and m.value not in HEADERS]


def row(at: AppTest, job_id: str):
    return at.get_by_key(f"job-{job_id}")


def test_column_headers_are_shown_above_the_rows(server) -> None:
    saved(ReportStore(Path(load_settings().data_dir)), "plant-based dairy")
    at = history()
    header = at.get_by_key("history-header")
    assert [m.value for m in header.markdown] == HEADERS
    assert topics(at) == ["plant-based dairy"]


def test_an_empty_history_says_so_and_a_filter_without_matches_says_that(server) -> None:
    at = history()
    assert [i.value for i in at.info] == ["No saved reports yet."]
    saved(ReportStore(Path(load_settings().data_dir)), "plant-based dairy")
    at.text_input(key="history-search").input("robots").run()
    assert [i.value for i in at.info] == ["No saved reports match the search and filters."]
    assert topics(at) == []


def test_search_narrows_the_rows_ignoring_case_and_wildcards(server) -> None:
    store = ReportStore(Path(load_settings().data_dir))
    for n, topic in enumerate(["Plant-based dairy", "Dairy farming in NZ", "Vertical farming", "100% recycled paper"]):
        saved(store, topic, created_at=1000.0 + n)
    at = history()
    assert topics(at) == ["100% recycled paper", "Vertical farming", "Dairy farming in NZ", "Plant-based dairy"]
    at.text_input(key="history-search").input("DAIRY").run()
    assert topics(at) == ["Dairy farming in NZ", "Plant-based dairy"]
    at.text_input(key="history-search").input("farming").run()
    assert topics(at) == ["Vertical farming", "Dairy farming in NZ"]
    at.text_input(key="history-search").input("%").run()
    assert topics(at) == ["100% recycled paper"], "% is a plain character, not a wildcard"
    at.text_input(key="history-search").input("").run()
    assert len(topics(at)) == 4


def test_status_and_workflow_filters(server) -> None:
    store = ReportStore(Path(load_settings().data_dir))
    saved(store, "complete market", created_at=1.0)
    saved(store, "failed market", status="failed", created_at=2.0)
    saved(store, "Stripe, Adyen", kind="companies", created_at=3.0)
    saved(store, "cancelled companies", kind="companies", status="cancelled", created_at=4.0)
    at = history()
    assert len(topics(at)) == 4
    status = at.multiselect(key="history-status")
    assert status.options == ["Running", "Complete", "Partial", "Failed", "Cancelled", "Interrupted"]
    status.set_value([JobStatus.COMPLETE]).run()
    assert topics(at) == ["Stripe, Adyen", "complete market"]
    workflow = at.multiselect(key="history-workflow")
    assert workflow.options == ["Market research", "Company research"]
    workflow.set_value([WorkflowKind.COMPANIES]).run()
    assert topics(at) == ["Stripe, Adyen"]
    at.multiselect(key="history-status").set_value([JobStatus.FAILED, JobStatus.CANCELLED]).run()
    assert topics(at) == ["cancelled companies"]
    at.multiselect(key="history-workflow").set_value([]).run()
    assert topics(at) == ["cancelled companies", "failed market"]


def test_the_duration_is_the_reports_elapsed_time(server) -> None:
    job_id = finished(MarketRequest.parse("plant-based dairy"))
    elapsed = runtime.jobs().snapshot(job_id).result.elapsed
    shown = f"{elapsed:.1f} s"

    page = AppTest.from_file(APP, default_timeout=30)
    page.query_params["job"] = job_id
    page.run()
    assert any(f"report ready in {shown} · " in s.label.lower() for s in page.status), [s.label for s in page.status]

    at = history()
    assert shown in [c.value for c in row(at, job_id).caption]
    assert runtime.jobs().store.get(job_id).elapsed == pytest.approx(elapsed)


def test_the_duration_prefers_the_saved_elapsed_over_the_rows_timestamps(server) -> None:
    store = ReportStore(Path(load_settings().data_dir))
    queued = saved(store, "queued a while", created_at=1000.0, finished_at=1010.0, elapsed=2.5)  # started late
    older = saved(store, "saved by an older release", created_at=2000.0, finished_at=2004.25)
    running = saved(store, "still running", created_at=3000.0, finished_at=None)
    at = history()
    assert "2.5 s" in [c.value for c in row(at, queued).caption]
    assert "4.2 s" in [c.value for c in row(at, older).caption]
    assert "—" in [c.value for c in row(at, running).caption]


def test_every_format_of_the_rows_workflow_can_be_downloaded(server) -> None:
    market = finished(MarketRequest.parse("plant-based dairy"))
    batch = finished(CompanyRequest.parse(["Stripe", "Datadog"], 2))
    at = history()
    for job_id, kind in ((market, WorkflowKind.MARKET), (batch, WorkflowKind.COMPANIES)):
        buttons = row(at, job_id).get("download_button")
        assert [b.label for b in buttons] == [item.label for item in EXPORTS[kind]]
        assert [b.key for b in buttons] == [f"dl-{item.extension}-{job_id}" for item in EXPORTS[kind]]
    assert len(at.get("download_button")) == len(EXPORTS[WorkflowKind.MARKET]) + len(EXPORTS[WorkflowKind.COMPANIES])


def test_a_failed_or_interrupted_job_offers_no_download(server) -> None:
    store = ReportStore(Path(load_settings().data_dir))
    failed = saved(store, "failed", status="failed")
    at = history()
    assert row(at, failed).get("download_button") == []


def test_delete_asks_first_then_removes_the_row(server) -> None:
    store = ReportStore(Path(load_settings().data_dir))
    keep = saved(store, "keep me", created_at=1.0)
    drop = saved(store, "delete me", created_at=2.0)
    at = history()
    at.button(key=f"del-{drop}").click().run()
    assert topics(at) == ["delete me", "keep me"], "the first click only asks"
    assert store.get(drop) is not None
    assert [m.value for m in row(at, drop).markdown if m.value == "Delete?"] == ["Delete?"]
    assert not any(b.key == f"del-yes-{keep}" for b in at.button), "only the clicked row asks"

    at.button(key=f"del-no-{drop}").click().run()
    assert topics(at) == ["delete me", "keep me"] and store.get(drop) is not None
    assert any(b.key == f"del-{drop}" for b in at.button)

    at.button(key=f"del-{drop}").click().run()
    at.button(key=f"del-yes-{drop}").click().run()
    assert not at.exception
    assert topics(at) == ["keep me"]
    assert store.get(drop) is None and store.get(keep) is not None


def run_again(job_id: str) -> tuple[AppTest, str]:
    """Click *Run again* on ``job_id``'s History row: the page, and the new job's id from its URL."""
    at = history()
    at.button(key=f"again-{job_id}").click().run()
    assert not at.exception
    new_id = at.query_params["job"]
    new_id = new_id[0] if isinstance(new_id, list) else new_id
    assert new_id != job_id
    return at, new_id


def test_run_again_starts_the_same_research_and_opens_it(server) -> None:
    first = finished(MarketRequest.parse("vertical farming"))
    at, new_id = run_again(first)
    snapshot = runtime.jobs().snapshot(new_id)
    assert snapshot is not None and snapshot.title == "vertical farming"
    assert snapshot.status in (JobStatus.RUNNING, JobStatus.COMPLETE)
    assert any(t.value == "Market research studio" for t in at.title), "the research page shows the new job"

    assert runtime.jobs().wait(new_id, 30)
    assert runtime.jobs().store.get(new_id).status == JobStatus.COMPLETE
    assert [j.id for j in runtime.jobs().store.list(search="vertical farming")] == [new_id, first]


def test_run_again_of_a_company_batch_opens_the_companies_page(server) -> None:
    first = finished(CompanyRequest.parse(["Stripe", "Datadog"], 2))
    at, new_id = run_again(first)
    assert runtime.jobs().snapshot(new_id).request.names == ("Stripe", "Datadog")
    assert any(t.value == "Company research" for t in at.title)
    assert runtime.jobs().wait(new_id, 30)


# The store under the page.


def test_list_filters_in_sql(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
    a = saved(store, "Café culture in Paris", created_at=1.0)
    b = saved(store, "snake_case tools", kind="companies", status="partial", created_at=2.0)
    c = saved(store, "snakeXcase tools", status="failed", created_at=3.0)
    d = saved(store, r"back\slash", created_at=4.0)
    assert [j.id for j in store.list(search="CAFÉ")] == [a], "case is ignored beyond ASCII too"
    assert [j.id for j in store.list(search="snake_case")] == [b], "_ is a plain character"
    assert [j.id for j in store.list(search="  snake ")] == [c, b]
    assert [j.id for j in store.list(search="\\")] == [d]
    assert [j.id for j in store.list(search="   ")] == [d, c, b, a]
    assert [j.id for j in store.list(statuses=["partial", "failed"])] == [c, b]
    assert [j.id for j in store.list(kinds=[WorkflowKind.COMPANIES])] == [b]
    assert [j.id for j in store.list(search="tools", statuses=[JobStatus.FAILED], kinds=["market"])] == [c]
    assert [j.id for j in store.list(statuses=[], kinds=())] == [d, c, b, a]
    assert [j.id for j in store.list(1, search="tools")] == [c]
    with pytest.raises(ValueError):
        store.list(statuses=["done"])
    with pytest.raises(ValueError):
        store.list(kinds=["stocks"])
    assert store.list(search="'; DROP TABLE jobs; --") == [] and len(store.list()) == 4


def test_elapsed_is_stored_and_an_older_database_gains_the_column(tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / DB_FILENAME)) as conn, conn:  # the first release's table
        conn.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, topic TEXT NOT NULL, status TEXT NOT NULL,"
                     " created_at REAL NOT NULL, finished_at REAL, provider TEXT NOT NULL, model TEXT NOT NULL,"
                     " demo INTEGER NOT NULL, result_json TEXT)")
        conn.execute("INSERT INTO jobs VALUES ('0123456789ab', 'market', 'old', 'complete', 1.0, 4.0, 'p', 'm', 0, '')")
    store = ReportStore(tmp_path)
    old = store.get("0123456789ab")
    assert old is not None and old.elapsed is None and old.duration == 3.0
    new = saved(store, "new", created_at=10.0, finished_at=20.0, elapsed=7.5)
    assert store.get(new).elapsed == 7.5 and store.get(new).duration == 7.5
    assert ReportStore(tmp_path).get(new) == store.get(new), "opening it again changes nothing"
    with closing(sqlite3.connect(tmp_path / DB_FILENAME)) as conn:
        assert [r[1] for r in conn.execute("PRAGMA table_info(jobs)")].count("elapsed") == 1
