"""The company batch: concurrency cap at the server, partial failure, input limits, exports, CLI."""

from __future__ import annotations

import csv
import io
import json

import pytest
from stub import Plan, agent_of, serve
from test_cli import run_cli

from research.config import Settings
from research.core.limits import Limits
from research.core.runs import JobStatus
from research.core.steps import StepState
from research.inputs import InputError, validate_company_names
from research.providers.demo_content import DEMO_NOTICE, parse_request
from research.reports.companies import render_batch_csv, render_batch_markdown
from research.workflows.companies import run_company_batch
from research.workflows.keys import StepKey
from tests.support.openai_server import Reply

FAST = Limits(concurrency=4, attempt_timeout=10, max_retries=1, backoff_initial=0.01, backoff_max=0.02)
NAMES = [f"Company {chr(65 + i)}" for i in range(12)]


def settings_for(server) -> Settings:
    return Settings(api_key="sk-test", base_url=server.base_url, api="chat_completions", model="stub-model")


def fails_for(*names: str):
    """A gate that answers 500 for the named companies' profile requests."""
    def gate(request) -> Reply | None:
        if agent_of(request) == "company" and parse_request(request.user_text).get("company") in names:
            return Reply(status=500)
        return None
    return gate


async def test_the_cap_is_reached_and_never_exceeded_at_the_server() -> None:
    with serve(Plan(latency={"company": 0.3})) as server:
        result = await run_company_batch(NAMES, settings_for(server), limits=FAST)
        company_requests = sum(1 for r in server.requests if agent_of(r) == "company")
        peak = server.max_in_flight
    assert result.status is JobStatus.COMPLETE
    assert (result.total, result.succeeded, result.failed) == (12, 12, 0)
    assert company_requests == 12
    assert peak == 4


async def test_failed_companies_are_named_and_not_invented() -> None:
    with serve(Plan(gate=fails_for("Company B", "Company E"))) as server:
        result = await run_company_batch(NAMES[:6], settings_for(server), limits=FAST)
        comparison = [r for r in server.requests if agent_of(r) == "comparison"]
    assert result.status is JobStatus.PARTIAL
    assert (result.total, result.succeeded, result.failed) == (6, 4, 2)
    failed = {StepKey.parse(o.key).subject: o.error for o in result.companies if not o.ok}
    assert failed == {"Company B": "server error (HTTP 500)", "Company E": "server error (HTTP 500)"}
    request = parse_request(comparison[0].user_text)
    assert sorted(request["profiles"]) == ["Company A", "Company C", "Company D", "Company F"]
    assert [m["company"] for m in request["missing_companies"]] == ["Company B", "Company E"]
    report = render_batch_markdown(result)
    assert "**6 companies: 4 succeeded, 2 failed.**" in report
    assert "### Company B\n\n> ⚠️ **Not researched** — server error (HTTP 500)." in report
    rows = list(csv.DictReader(io.StringIO(render_batch_csv(result))))
    assert [(r["company"], r["status"]) for r in rows if r["status"] != "done"] == [("Company B", "failed"), ("Company E", "failed")]


async def test_when_every_company_fails_there_is_no_comparison_call() -> None:
    with serve(Plan(gate=fails_for(*NAMES[:3]))) as server:
        result = await run_company_batch(NAMES[:3], settings_for(server), limits=FAST)
        comparison = [r for r in server.requests if agent_of(r) == "comparison"]
    assert result.status is JobStatus.FAILED and comparison == []
    assert result.comparison.state is StepState.SKIPPED
    assert result.error.startswith("every company failed")


def test_names_are_trimmed_deduplicated_and_limited() -> None:
    assert validate_company_names(["  Stripe ", "", "STRIPE", "Datadog", "stripe", " Data  dog "]) == ["Stripe", "Datadog", "Data dog"]
    with pytest.raises(InputError, match="51 companies given; the limit is 50"):
        validate_company_names([f"C{i}" for i in range(51)])
    assert len(validate_company_names([f"C{i}" for i in range(50)] + ["c0"])) == 50
    with pytest.raises(InputError, match="at least one company"):
        validate_company_names(["", "   "])
    with pytest.raises(InputError, match="the limit is 100"):
        validate_company_names(["x" * 101])


def test_csv_cells_cannot_run_as_spreadsheet_formulas() -> None:
    import asyncio

    from research.providers.demo_model import DemoModel
    from research.providers.source import ModelSource

    source = ModelSource("demo", "offline-demo", "demo", None, {}, DemoModel(speed=200))
    result = asyncio.run(run_company_batch(["=HYPERLINK(\"http://x\")", "@SUM(A1)"], Settings(demo=True), models=source))
    rows = list(csv.reader(io.StringIO(render_batch_csv(result))))
    assert len(rows) == 1 + 2, "the header and one row per company: no notice row that reads as a company"
    header, *companies = rows
    assert header[-1] == "notice" and all(len(r) == len(header) for r in rows)
    assert [r[0] for r in companies] == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)"]
    assert [r[-1] for r in companies] == [DEMO_NOTICE, DEMO_NOTICE]


def test_cli_exit_codes_and_files(tmp_path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("Company A\n\ncompany a\nCompany B\nCompany C\n")
    with serve(Plan(gate=fails_for("Company C"))) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_MAX_RETRIES": "0"}
        partial = run_cli("companies", "Company D", "--file", str(names), "--concurrency", "2", "--out", str(tmp_path / "r.md"),
                          "--csv", str(tmp_path / "r.csv"), "--json", str(tmp_path / "r.json"), env=env)
        complete = run_cli("companies", "Company A", env=env)
        none = run_cli("companies", "Company C", env=env)
        before_bad = len(server.requests)
        bad = [run_cli("companies", env=env), run_cli("companies", "A", "--concurrency", "0", env=env),
               run_cli("companies", "--file", str(tmp_path / "missing.txt"), env=env),
               run_cli("companies", *[f"C{i}" for i in range(51)], env=env)]
        requests_for_bad = len(server.requests) - before_bad
    assert partial.returncode == 3, partial.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"] == {"total": 4, "succeeded": 3, "failed": 1}
    assert data["request"]["names"] == ["Company D", "Company A", "Company B", "Company C"]
    assert data["request"]["concurrency"] == 2 and data["concurrency"] == 2
    assert len(list(csv.reader((tmp_path / "r.csv").open()))) == 5
    assert complete.returncode == 0 and "## Comparison" in complete.stdout
    assert none.returncode == 1 and "no report: every company failed" in none.stderr
    assert [p.returncode for p in bad] == [2, 2, 2, 2]
    assert all(p.stderr.count("\n") == 1 for p in bad)
    assert requests_for_bad == 0, "bad input must not reach the model server"
