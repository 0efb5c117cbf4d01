"""The Streamlit app through `streamlit.testing.v1.AppTest`, against the local stub server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from stub import Plan, app_served

from research.core.steps import StepState
from tests.support.openai_server import Reply
from tests.support.requests import request_for
from ui import runtime

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def server(monkeypatch, tmp_path):
    """The app talks to a stub server; history goes to a fresh folder; caches start empty."""
    with app_served(Plan(latency={"section": 0.1, "summary": 0.2}), monkeypatch, tmp_path) as stub:
        yield stub


def start(topic: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="topic").input(topic)
    next(b for b in at.button if b.label == "Generate report").click().run()
    return at


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(e.value for e in at.error)


def test_empty_and_overlong_topics_are_refused_without_a_request(server) -> None:
    at = start("   ")
    assert [e.value for e in at.error] == ["Enter a topic to research, e.g. 'electric vehicle charging in Europe'."]
    assert "job" not in at.query_params
    long = "x" * 250  # pasted: the box takes it all (a max_chars box would drop such a paste silently)
    at.text_input(key="topic").input(long)
    next(b for b in at.button if b.label == "Generate report").click().run()
    assert [e.value for e in at.error] == ["The topic is 250 characters long; the limit is 200."]
    assert at.text_input(key="topic").value == long, "the topic stays in the box, to be shortened"
    assert "job" not in at.query_params
    assert server.requests == []


def test_a_run_shows_status_then_report_charts_and_downloads(server) -> None:
    at = start("plant-based dairy")
    job_id = at.query_params["job"][0] if isinstance(at.query_params["job"], list) else at.query_params["job"]
    assert not at.exception
    assert any(s.label.startswith("Researching") for s in at.status), "live status is shown at once"
    assert runtime.jobs().wait(job_id, 30)
    at.run()
    assert not at.exception
    page = texts(at)
    for heading in ("Executive Summary", "Market Overview", "Competitive Landscape", "Customer Segments", "Strategic Recommendations"):
        assert f"## {heading}" in page
    assert len(at.get("plotly_chart")) == 3
    labels = [d.label for d in at.get("download_button")]
    assert labels == ["Download report (.md)", "Download report (.html)", "Download data (.json)"]
    assert any(s.label.startswith("Report ready in") for s in at.status)


def test_history_lists_the_run_and_a_job_link_reopens_it(server) -> None:
    at = start("vertical farming")
    job_id = at.query_params["job"]
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    assert runtime.jobs().wait(job_id, 30)

    history = AppTest.from_file(APP, default_timeout=30).run()
    history.switch_page("pages/history.py").run()
    assert not history.exception
    table = history.dataframe[0].value
    assert list(table["Report"]) == ["vertical farming"]
    assert list(table["Status"]) == ["complete"]

    reopened = AppTest.from_file(APP, default_timeout=30)
    reopened.query_params["job"] = job_id
    reopened.run()
    assert "# Market research: vertical farming" in texts(reopened)


def test_an_unknown_job_link_says_so(server) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["job"] = "<script>alert(1)</script>"
    at.run()
    assert "There is no report at this link" in at.error[0].value


def test_demo_mode_is_labelled(monkeypatch, tmp_path) -> None:
    st.cache_resource.clear()
    monkeypatch.setenv("RESEARCH_DATA_DIR", str(tmp_path / "data"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert any("Demo mode" in w.value for w in at.sidebar.warning)
    st.cache_resource.clear()


def test_cancel_stops_the_job_and_keeps_what_finished(monkeypatch, tmp_path) -> None:
    with app_served(Plan(always={"customer": lambda r: Reply(hang=True)}), monkeypatch, tmp_path):
        at = start("plant-based dairy")
        job_id = at.query_params["job"]
        job_id = job_id[0] if isinstance(job_id, list) else job_id
        landed = threading.Event()  # the market and competitor agents have answered; the customer agent hangs
        done: set[str] = set()

        def on_event(event) -> None:
            if event.state is StepState.DONE:
                done.add(event.key)
            if {"agent:market", "agent:competitor"} <= done:
                landed.set()

        runtime.jobs().watch(job_id, on_event)  # events from now on; what finished before, from a snapshot after it
        for step in runtime.jobs().snapshot(job_id).steps:
            if step.state is StepState.DONE:
                on_event(step)
        assert landed.wait(30)
        next(b for b in at.button if b.label == "Cancel").click().run()
        assert runtime.jobs().wait(job_id, 30), "the job stops"
        at.run()
        saved = runtime.jobs().store.get(job_id)
        assert saved.status == "cancelled"
        assert any(s.label.startswith("Cancelled in") for s in at.status), "a cancelled report with what finished"
        assert "Cancelled" in texts(at) and "## Market Overview" in texts(at)



def test_companies_page_runs_a_batch_and_history_lists_it(server) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("pages/companies.py").run()
    at.text_area(key="companies").input("Stripe\n\nstripe\nDatadog\nCloudflare")
    next(b for b in at.button if b.label == "Research companies").click().run()
    assert not at.exception
    job_id = at.query_params["job"]
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    assert runtime.jobs().wait(job_id, 30)
    at.run()
    assert "**3 companies: 3 succeeded, 0 failed.**" in texts(at)
    assert [d.label for d in at.get("download_button")] == [
        "Download report (.md)", "Download report (.html)", "Download table (.csv)", "Download data (.json)"]
    assert len(at.get("plotly_chart")) == 1

    history = AppTest.from_file(APP, default_timeout=30).run()
    history.switch_page("pages/history.py").run()
    assert list(history.dataframe[0].value["Report"]) == ["Stripe, Datadog, Cloudflare"]


def test_companies_page_refuses_too_many_names(server) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("pages/companies.py").run()
    at.text_area(key="companies").input("\n".join(f"Company {i}" for i in range(60)))
    next(b for b in at.button if b.label == "Research companies").click().run()
    assert "60 companies given; the limit is 50 per run." in [e.value for e in at.error]
    assert "job" not in at.query_params and server.requests == []


def test_reports_saved_by_the_previous_release_open_from_history(monkeypatch, tmp_path) -> None:
    from test_store import PREVIOUS_RELEASE_BATCH, PREVIOUS_RELEASE_MARKET

    from research.store import ReportStore, new_job_id

    st.cache_resource.clear()
    monkeypatch.setenv("RESEARCH_DATA_DIR", str(tmp_path / "data"))
    store = ReportStore(tmp_path / "data")
    ids = {}
    for kind, title, raw in (("market", "oat milk in the Nordics", PREVIOUS_RELEASE_MARKET),
                             ("companies", "Stripe, Adyen, Klarna", PREVIOUS_RELEASE_BATCH)):
        data = json.loads(raw)
        ids[kind] = new_job_id()
        store.record_started(ids[kind], request=request_for(kind, title), provider=data["provider"], model=data["model"],
                             demo=False, created_at=data["started_at"])
        store.record_finished(ids[kind], status=data["status"], finished_at=data["finished_at"], result_json=raw)

    history = AppTest.from_file(APP, default_timeout=30).run()
    history.switch_page("pages/history.py").run()
    assert not history.exception
    assert set(history.dataframe[0].value["Report"]) == {"oat milk in the Nordics", "Stripe, Adyen, Klarna"}

    market = AppTest.from_file(APP, default_timeout=30)
    market.query_params["job"] = ids["market"]
    market.run()
    assert not market.exception
    page = texts(market)
    assert "# Market research: oat milk in the Nordics" in page
    for prose in ("Old summary: oat drinks", "Old overview: the market", "Old landscape: Oatly leads",
                  "Old advice: launch a barista edition"):
        assert prose in page
    assert "**Customer data unavailable** — server error (HTTP 500)" in page
    assert len(market.get("plotly_chart")) == 2, "a chart for each agent whose data was saved"

    batch = AppTest.from_file(APP, default_timeout=30)
    batch.switch_page("pages/companies.py")
    batch.query_params["job"] = ids["companies"]
    batch.run()
    assert not batch.exception
    assert "**3 companies: 2 succeeded, 1 failed.**" in texts(batch)
    assert "Old comparison: Stripe and Adyen" in texts(batch)
    st.cache_resource.clear()
