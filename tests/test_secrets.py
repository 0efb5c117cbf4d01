"""A known fake key must never show up in any output, log, export or database file."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest
from stub import Plan, serve

from research.config import Settings
from research.inputs import MarketRequest
from research.jobs.service import JobService
from research.reports.market import render_json, render_markdown
from research.store import ReportStore
from tests.support.openai_server import Reply
from ui import runtime

KEY = "sk-test-SECRET-0123456789abcdefXYZ"
ROOT = Path(__file__).resolve().parents[1]
ECHO = Reply(status=401, error_body={"error": {"message": f"Incorrect API key provided: {KEY}", "code": "invalid_api_key"}})


def _files_text(folder: Path) -> str:
    return "".join(p.read_bytes().decode("latin-1") for p in folder.rglob("*") if p.is_file())


def test_key_stays_out_of_logs_history_exports_and_snapshots(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO)
    with serve(Plan(always={"customer": lambda r: ECHO})) as server:
        settings = Settings(api_key=KEY, base_url=server.base_url, api="chat_completions", model="stub-model", max_retries=0)
        runner = JobService(settings, ReportStore(tmp_path / "data"), durable=False)
        job_id = runner.submit(MarketRequest.parse("plant-based dairy"), settings)
        assert runner.wait(job_id, 30)
        snapshot = runner.snapshot(job_id)
        authorizations = {r.authorization for r in server.requests}
        runner.close()

    assert authorizations == {f"Bearer {KEY}"}  # the key did reach the model server, and only there
    result = snapshot.result
    assert result.customer.error == "the model server rejected the API key (HTTP 401)"
    outputs = [render_markdown(result), render_json(result), repr(snapshot), caplog.text, _files_text(tmp_path / "data"),
               repr(settings)]
    assert all(KEY not in text for text in outputs)


def test_key_stays_out_of_cli_output(tmp_path) -> None:
    with serve(Plan(always={"market": lambda r: ECHO})) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
        env.update({"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model",
                    "RESEARCH_MAX_RETRIES": "0", "PYTHONPATH": str(ROOT)})
        proc = subprocess.run([sys.executable, "-m", "research", "plant-based dairy", "--json", str(tmp_path / "r.json")],
                              capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3
    assert KEY not in proc.stdout + proc.stderr + (tmp_path / "r.json").read_text()


def test_a_key_pasted_in_the_ui_is_used_but_never_shown_or_saved(monkeypatch, tmp_path) -> None:
    st.cache_resource.clear()
    with serve(Plan()) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("RESEARCH_MODEL", "stub-model")
        monkeypatch.setenv("RESEARCH_DATA_DIR", str(tmp_path / "data"))
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
        at.text_input(key="topic").input("plant-based dairy")
        at.text_input(key="session_api_key").input(KEY)
        next(b for b in at.button if b.label == "Generate report").click().run()
        job_id = at.query_params["job"]
        job_id = job_id[0] if isinstance(job_id, list) else job_id
        assert runtime.jobs().wait(job_id, 30)
        at.run()  # the report is shown, the form (and its key box) folded away
        next(b for b in at.button if b.label == "Run again").click().run()
        again = at.query_params["job"]
        again = again[0] if isinstance(again, list) else again
        assert again != job_id and runtime.jobs().wait(again, 30)
        at.run()
        authorizations = {r.authorization for r in server.requests}
        other_session = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    page = "\n".join(str(e.value) for e in [*at.markdown, *at.caption, *at.error, *at.sidebar.caption, *at.status] if hasattr(e, "value"))
    assert authorizations == {f"Bearer {KEY}"}
    assert "# Market research: plant-based dairy" in page
    assert KEY not in page
    assert KEY not in _files_text(tmp_path / "data")
    assert other_session.text_input(key="session_api_key").value in ("", None), "the key belongs to one session"
    assert any("from this session" in c.value for c in at.sidebar.caption)
    st.cache_resource.clear()
