"""What changed between two runs: two reports over HTTP against the test server, with different answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from test_cli import run_cli

from research.config import Settings
from research.core.runs import JobStatus
from research.inputs import CompanyRequest, MarketRequest
from research.jobs.service import JobService
from research.providers.demo_content import demo_output_for
from research.reports.changes import NO_CHANGE, compare_runs, render_changes, render_comparison, same_name
from research.reports.companies import render_batch_json, render_batch_markdown
from research.reports.html import render_batch_html
from research.reports.html import render_market_html as render_html
from research.reports.market import render_json, render_markdown
from research.store import ReportStore
from research.workflows.market import MarketResearchResult, run_market_research
from tests.support.jobs import durable_service, stub_settings
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.responders import schema_title

Edit = Callable[[dict[str, Any]], None]


def competitors(*parts: tuple[str, float]) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        template = data["competitors"][0]
        data["competitors"] = [{**template, "name": name, "market_share_percent": share} for name, share in parts]
    return edit


def market_size(value: float, year: int = 2025, currency: str = "USD") -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["market_size"].update(value=value, year=year, currency=currency, scale="billion")
    return edit


async def report(**edits: Edit) -> MarketResearchResult:
    """A market report from the test server, each agent's demo answer changed by ``edits`` (by schema title)."""
    def respond(request: StubRequest) -> Reply:
        title = schema_title(request)
        data = json.loads(demo_output_for(title, request.user_text))
        if title in edits:
            edits[title](data)
        return Reply(content=json.dumps(data))

    with StubOpenAIServer(respond) as server:
        settings = Settings(api_key="sk-test", base_url=server.base_url, api="chat_completions",  # type: ignore[arg-type]
                            model="stub-model")
        result = await run_market_research("plant-based dairy", settings)
    assert result.status is JobStatus.COMPLETE
    return result


FIRST = {"CompetitorReport": competitors(("Acme Inc.", 30.0), ("Globex", 20.0), ("Initech", 10.0)),
         "MarketData": market_size(10.0)}


async def test_the_second_report_names_who_entered_and_left_and_how_far_the_market_moved() -> None:
    earlier = await report(**FIRST)
    later = await report(CompetitorReport=competitors(("ACME", 34.0), ("Globex", 20.2), ("Umbrella Corp", 12.0)),
                         MarketData=market_size(12.0))
    comparison = compare_runs(earlier, later)
    assert comparison.competitors.entered == ["Umbrella Corp"] and comparison.competitors.left == ["Initech"]
    assert [(m.name, m.points) for m in comparison.competitors.moved] == [("ACME", 4.0)], "0.2 points is no move"
    assert comparison.market_size.change_percent == 20.0 and comparison.material
    text = render_changes(comparison)
    assert "What changed since" in text and "+20 %" in text
    assert "Umbrella Corp" in text and "Initech" in text and "30 % → 34 % (+4 points)" in text


async def test_a_change_of_year_or_currency_is_said_not_silently_subtracted() -> None:
    earlier = await report(**FIRST)
    next_year = compare_runs(earlier, await report(**{**FIRST, "MarketData": market_size(11.0, year=2026)}))
    assert next_year.market_size.note == "the year moved from 2025 to 2026"
    assert "the year moved from 2025 to 2026" in render_changes(next_year)
    in_euros = compare_runs(earlier, await report(**{**FIRST, "MarketData": market_size(9.0, currency="EUR")}))
    assert in_euros.market_size.change_percent is None
    assert "the currency changed (USD → EUR), so the sizes are not compared" in render_changes(in_euros)


async def test_identical_runs_say_no_material_change() -> None:
    comparison = compare_runs(await report(**FIRST), await report(**FIRST))
    assert not comparison.material
    assert NO_CHANGE in render_changes(comparison)


def test_names_match_whatever_their_case_or_legal_suffix() -> None:
    assert same_name("Acme Inc.", "ACME") and same_name("acme", "Acme, Inc.") and same_name("Globex GmbH", "globex")
    assert not same_name("Acme", "Acme Robotics") and not same_name("Globex", "Initech")


def test_the_command_line_compares_two_reports_of_the_history(tmp_path) -> None:
    env = {"RESEARCH_DEMO": "1", "RESEARCH_DATA_DIR": str(tmp_path / "data")}
    for _ in range(2):
        assert run_cli("Plant-based dairy", "--out", str(tmp_path / "r.md"), env=env).returncode == 0
    first, second = (job.id for job in sorted(ReportStore(tmp_path / "data").list(), key=lambda job: job.created_at))
    done = run_cli("compare", first, second, "--json", str(tmp_path / "c.json"), env=env)
    assert done.returncode == 0, done.stderr
    assert "# Plant-based dairy" in done.stdout and NO_CHANGE in done.stdout
    assert json.loads((tmp_path / "c.json").read_text())["earlier_id"] == first
    missing = run_cli("compare", first, "0123456789ab", env=env)
    assert missing.returncode == 2 and "no market report '0123456789ab' in the history" in missing.stderr
    either = run_cli("compare", second, first, "--json", str(tmp_path / "c.json"), env=env)
    assert either.returncode == 0 and either.stdout == done.stdout, "the earlier is the one that started first"
    assert json.loads((tmp_path / "c.json").read_text())["earlier_id"] == first
    twice = run_cli("compare", first, first, env=env)
    assert twice.returncode == 2 and "choose two different reports" in twice.stderr


async def test_a_comparison_of_its_own_names_both_runs() -> None:
    earlier = await report(**FIRST)
    later = await report(**{**FIRST, "MarketData": market_size(12.0)})
    later.request = MarketRequest.parse("Plant-based dairy in Europe")
    comparison = compare_runs(earlier, later, earlier_id="a", later_id="b")
    assert comparison.earlier_topic == "plant-based dairy" and comparison.topic == "Plant-based dairy in Europe"
    document = render_comparison(comparison)
    assert document.startswith("# plant-based dairy → Plant-based dairy in Europe\n\n“plant-based dairy” (")
    assert ") → “Plant-based dairy in Europe” (" in document and "+20 %" in document
    same = compare_runs(earlier, earlier)
    assert same.runs.startswith("“plant-based dairy”, ") and render_comparison(same).startswith("# plant-based dairy\n")


def test_a_second_report_on_the_topic_opens_with_what_changed_in_every_format(tmp_path) -> None:
    answers: dict[str, Edit] = dict(FIRST)

    def respond(request: StubRequest) -> Reply:
        title = schema_title(request)
        data = json.loads(demo_output_for(title, request.user_text))
        if title in answers:
            answers[title](data)
        return Reply(content=json.dumps(data))

    with StubOpenAIServer(respond) as server:
        settings = stub_settings(server.base_url, tmp_path / "data")
        with durable_service(settings) as jobs:
            first = jobs.submit(MarketRequest.parse("Plant-based dairy"))
            assert jobs.wait(first, 60)
            answers.update(CompetitorReport=competitors(("ACME", 34.0), ("Globex", 20.0), ("Umbrella Corp", 12.0)),
                           MarketData=market_size(12.0))
            second = jobs.submit(MarketRequest.parse("plant-based  dairy"))  # the same topic, spelled differently
            assert jobs.wait(second, 60)
            first_result, result = jobs.snapshot(first).result, jobs.snapshot(second).result
    assert first_result.changes is None, "the first report has nothing to compare with"
    assert result.changes is not None and result.changes.earlier_id == first
    markdown = render_markdown(result)
    assert markdown.index("## What changed since") < markdown.index("## Executive Summary")
    for text in (markdown, render_html(result)):
        assert "Umbrella Corp" in text and "Initech" in text and "+20 %" in text
    exported = json.loads(render_json(result))["changes"]
    assert exported["competitors"]["entered"] == ["Umbrella Corp"] and exported["market_size"]["change_percent"] == 20.0


def test_the_paragraph_on_what_changed_is_written_from_the_comparison_and_its_numbers_checked(tmp_path) -> None:
    answers: dict[str, Edit] = dict(FIRST)
    invent = {"on": False}

    def respond(request: StubRequest) -> Reply:
        title = schema_title(request)
        if invent["on"] and title == "SectionText" and "What changed since" in request.user_text:
            return Reply(content=json.dumps({"prose": "The market grew 45 % as Umbrella Corp entered."}))
        data = json.loads(demo_output_for(title, request.user_text))
        if title in answers:
            answers[title](data)
        return Reply(content=json.dumps(data))

    with StubOpenAIServer(respond) as server:
        settings = stub_settings(server.base_url, tmp_path / "data")
        with durable_service(settings) as jobs:
            assert jobs.wait(jobs.submit(MarketRequest.parse("plant-based dairy")), 60)
            answers.update(CompetitorReport=competitors(("ACME", 34.0), ("Umbrella Corp", 12.0)),
                           MarketData=market_size(12.0))
            second = jobs.submit(MarketRequest.parse("plant-based dairy"))
            assert jobs.wait(second, 60)
            invent["on"] = True
            third = jobs.submit(MarketRequest.parse("plant-based dairy"), again=True)
            assert jobs.wait(third, 60)
            written, invented = jobs.snapshot(second).result, jobs.snapshot(third).result
            writer_requests = [r for r in server.requests if "What changed since" in r.user_text]
    assert len(writer_requests) == 2, "one request of the section writer per report that has an earlier one"
    assert "Initech" in writer_requests[0].user_text, "the writer is given the comparison (Initech left)"
    summary = written.changes.summary
    assert "USD 10 billion (2025) to USD 12 billion (2025), a change of +20.0 %" in summary
    assert "Umbrella Corp appear among the competitors for the first time" in summary
    assert written.changes.summary_notes == [] and written.changes_text.usage.requests == 1
    assert summary in render_markdown(written) and "What changed" in render_markdown(written).split("## Run details")[1]
    assert invented.changes.summary_notes == ["Data check: the text mentions 45 %, which is not in the research data."]
    assert "45 %, which is not in the research data" in render_markdown(invented)


def test_a_job_run_in_memory_writes_its_paragraph_with_what_its_run_learned_of_the_server(tmp_path) -> None:
    """A job with a session's own key runs in memory; its paragraph goes to the server the way its run's requests
    went (in JSON mode, for a server that refuses JSON schemas), not through a fresh client that asks again."""
    refusal = {"error": {"message": "Input should be 'text' or 'json_object'", "type": "invalid_request_error"}}

    def respond(request: StubRequest) -> Reply:
        if request.response_format_type == "json_schema":
            return Reply(status=400, error_body=refusal)
        return Reply(content=demo_output_for(schema_title(request), request.user_text))

    with StubOpenAIServer(respond) as server:
        settings = stub_settings(server.base_url, tmp_path / "data")
        jobs = JobService(settings, ReportStore(settings.data_dir), durable=False)
        try:
            for _ in range(2):
                assert jobs.wait(jobs.submit(MarketRequest.parse("plant-based dairy"), again=True), 60)
        finally:
            jobs.close()
        paragraph = [r for r in server.requests if "What changed since" in r.user_text]
    assert paragraph and all(r.response_format_type != "json_schema" for r in paragraph), \
        [r.response_format_type for r in paragraph]


def test_a_second_batch_says_which_companies_were_added_or_dropped_and_whose_figures_moved(tmp_path) -> None:
    revenue = {"stripe": 14_000.0, "adyen": 2_000.0}  # by the name's first word, in any case

    def respond(request: StubRequest) -> Reply:
        title = schema_title(request)
        data = json.loads(demo_output_for(title, request.user_text))
        if title == "CompanyProfile" and data["name"].split()[0].casefold() in revenue:
            data["revenue_estimate_usd_millions"] = revenue[data["name"].split()[0].casefold()]
        return Reply(content=json.dumps(data))

    with StubOpenAIServer(respond) as server:
        settings = stub_settings(server.base_url, tmp_path / "data")
        with durable_service(settings) as jobs:
            first = jobs.submit(CompanyRequest.parse(["Stripe", "Adyen", "Klarna"], 3))
            assert jobs.wait(first, 60)
            revenue["stripe"] = 16_100.0
            second = jobs.submit(CompanyRequest.parse(["stripe", "Adyen N.V.", "Wise"], 3))
            unrelated = jobs.submit(CompanyRequest.parse(["Datadog"], 1))
            assert jobs.wait(second, 60) and jobs.wait(unrelated, 60)
            results = [jobs.snapshot(job).result for job in (first, second, unrelated)]
    assert results[0].changes is None and results[2].changes is None, "nothing earlier shares a company"
    changes = results[1].changes
    assert changes is not None and changes.earlier_id == first
    assert (changes.added, changes.dropped) == (["Wise"], ["Klarna"])
    assert [(c.name, c.revenue_percent) for c in changes.companies] == [("stripe", 15.0)], "Adyen did not move"
    markdown = render_batch_markdown(results[1])
    assert markdown.index("## What changed since") < markdown.index("## Comparison")
    for text in (markdown, render_batch_html(results[1])):
        assert "Wise" in text and "Klarna" in text and "14,000.0 → 16,100.0" in text and "+15 %" in text
    assert json.loads(render_batch_json(results[1]))["changes"]["dropped"] == ["Klarna"]
