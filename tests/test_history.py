"""The History page through AppTest (the table, search, filters, durations, previews, selection, downloads,
delete one or several, run again, retry), the figure preview it shows, and the store features it uses
(filtered listing, the run's elapsed time, upgrading an older database)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash
from stub import Plan, app_served

from research.config import Settings, load_settings
from research.core.runs import JobStatus
from research.core.steps import StepState
from research.inputs import CompanyRequest, MarketRequest, WorkflowKind
from research.providers.demo_model import DemoModel
from research.providers.source import ModelSource
from research.reports.changes import render_comparison
from research.reports.exports import EXPORTS
from research.reports.preview import history_preview
from research.store import DB_FILENAME, ReportStore, new_job_id
from research.workflows.companies import CompanyBatchResult, run_company_batch
from research.workflows.market import MarketResearchResult, run_market_research
from tests.support.requests import request_for
from ui import runtime

APP = str(Path(__file__).resolve().parents[1] / "app.py")
COLUMNS = ["Report", "Preview", "Started", "Status", "Duration", "Workflow", "Spend"]
TABLE = "history-table"
MARKET_SIZE = re.compile(r"^[A-Z]{3} \d[\d,]*(\.\d)? (k|M|bn|tn) \(\d{4}\)")


@pytest.fixture
def server(monkeypatch, tmp_path):
    """The app talks to a stub server; history goes to a fresh folder; caches start empty."""
    with app_served(Plan(), monkeypatch, tmp_path) as stub:
        yield stub


def history() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("pages/history.py").run()
    assert not at.exception
    return at


def finished(request: MarketRequest | CompanyRequest) -> str:
    """Run ``request`` to the end on the app's job runner; its job id."""
    job_id = runtime.jobs().submit(request, load_settings())
    assert runtime.jobs().wait(job_id, 30)
    return job_id


def store() -> ReportStore:
    return ReportStore(Path(load_settings().data_dir))


def saved(store: ReportStore, topic: str, *, kind: str = "market", status: str = "complete", created_at: float = 1000.0,
          finished_at: float | None = 1010.0, elapsed: float | None = None, result_json: str = "",
          tokens: int | None = None, cost_usd: float | None = None) -> str:
    """A job row written directly, as an older release or another process would leave it (no result unless given)."""
    job_id = new_job_id()
    store.record_started(job_id, request=request_for(kind, topic), provider="p", model="m", demo=False, created_at=created_at)
    if finished_at is not None:
        store.record_finished(job_id, status=status, finished_at=finished_at, result_json=result_json, elapsed=elapsed,
                              tokens=tokens, cost_usd=cost_usd)
    return job_id


def table(at: AppTest):
    """The history table as the page shows it (a pandas DataFrame), or None when there is none."""
    return at.dataframe[0].value if len(at.dataframe) else None


def topics(at: AppTest) -> list[str]:
    """The topics of the listed jobs, top to bottom."""
    shown = table(at)
    return [] if shown is None else list(shown["Report"])


def cell(at: AppTest, topic: str, column: str):
    shown = table(at)
    return shown[column][topics(at).index(topic)]


def select(at: AppTest, *chosen: str) -> AppTest:
    """Tick the rows of the ``chosen`` topics (and untick the others), as a click in the table does."""
    rows = [topics(at).index(topic) for topic in chosen]
    at.session_state[TABLE] = {"selection": {"rows": rows, "columns": []}}
    at.run()
    assert not at.exception
    return at


def actions(at: AppTest):
    """The area above the table with what can be done with the selected rows."""
    return at.get_by_key("history-actions")


def labels(at: AppTest) -> list[str]:
    return [b.label for b in actions(at).button]


def question(at: AppTest) -> str:
    """The delete question shown above the table ("" when none)."""
    try:
        asking = at.get_by_key("history-confirm")
    except KeyError:
        return ""
    return asking.markdown[0].value.removeprefix(":material/delete: ")


def started(created_at: float) -> str:
    when = dt.datetime.fromtimestamp(created_at)
    return f"{when.day} {when:%b}" + (f" {when.year}" if when.year != dt.datetime.now().year else "") + f", {when:%H:%M}"


def test_one_compact_table_lists_the_jobs_with_their_columns(server) -> None:
    saved(store(), "plant-based dairy", created_at=1000.0, finished_at=1002.5)
    saved(store(), "Stripe, Adyen", kind="companies", status="partial", created_at=2000.0, finished_at=2004.0)
    at = history()
    shown = table(at)
    assert list(shown.columns) == COLUMNS
    assert topics(at) == ["Stripe, Adyen", "plant-based dairy"], "newest first"
    assert list(shown["Workflow"]) == ["Company", "Market"]
    assert list(shown["Status"]) == ["partial", "complete"]
    assert list(shown["Started"]) == [dt.datetime.fromtimestamp(2000.0), dt.datetime.fromtimestamp(1000.0)]
    assert list(shown["Duration"]) == [4.0, 2.5]
    assert at.dataframe[0].proto.selection_mode, "rows can be selected"
    assert "2 reports · select a row" in actions(at).caption[0].value


def test_an_empty_history_says_so_and_a_filter_without_matches_says_that(server) -> None:
    at = history()
    assert [i.value for i in at.info] == ["No saved reports yet."]
    assert table(at) is None
    saved(store(), "plant-based dairy")
    at.text_input(key="history-search").input("robots").run()
    assert [i.value for i in at.info] == ["No saved reports match the search and filters."]
    assert topics(at) == []


def test_search_narrows_the_rows_ignoring_case_and_wildcards(server) -> None:
    for n, topic in enumerate(["Plant-based dairy", "Dairy farming in NZ", "Vertical farming", "100% recycled paper"]):
        saved(store(), topic, created_at=1000.0 + n)
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
    saved(store(), "complete market", created_at=1.0)
    saved(store(), "failed market", status="failed", created_at=2.0)
    saved(store(), "Stripe, Adyen", kind="companies", created_at=3.0)
    saved(store(), "cancelled companies", kind="companies", status="cancelled", created_at=4.0)
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
    assert f"{cell(at, 'plant-based dairy', 'Duration'):.1f} s" == shown, "the table shows it as the report does"
    assert '"format": "%.1f s"' in at.dataframe[0].proto.columns
    assert runtime.jobs().store.get(job_id).elapsed == pytest.approx(elapsed)


def test_the_duration_prefers_the_saved_elapsed_over_the_rows_timestamps(server) -> None:
    saved(store(), "queued a while", created_at=1000.0, finished_at=1010.0, elapsed=2.5)  # started late
    saved(store(), "saved by an older release", created_at=2000.0, finished_at=2004.25)
    saved(store(), "still running", created_at=3000.0, finished_at=None)
    at = history()
    assert cell(at, "queued a while", "Duration") == 2.5
    assert cell(at, "saved by an older release", "Duration") == 4.25
    assert math.isnan(cell(at, "still running", "Duration"))
    assert at.dataframe[0].proto.placeholder == "—", "a running job's duration shows as a dash"


def test_the_preview_shows_the_market_size_and_leader_or_the_batch_size(server) -> None:
    market = finished(MarketRequest.parse("plant-based dairy"))
    finished(CompanyRequest.parse(["Stripe", "Datadog"], 2))
    saved(store(), "failed before any research", status="failed", created_at=1.0)
    at = history()
    preview = cell(at, "plant-based dairy", "Preview")
    assert MARKET_SIZE.match(preview), preview
    assert " · leader " in preview
    assert preview == history_preview(runtime.jobs().snapshot(market).result)
    assert cell(at, "Stripe, Datadog", "Preview") == "2 companies"
    assert pd.isna(cell(at, "failed before any research", "Preview")), "no figure: the table shows its dash"


def test_nothing_selected_offers_no_actions(server) -> None:
    saved(store(), "plant-based dairy")
    at = history()
    assert labels(at) == [] and at.get("download_button") == [] and at.get("page_link") == []


def test_one_selected_row_offers_open_downloads_run_again_and_delete(server) -> None:
    market = finished(MarketRequest.parse("plant-based dairy"))
    batch = finished(CompanyRequest.parse(["Stripe", "Datadog"], 2))
    at = history()
    for job_id, topic, kind in ((market, "plant-based dairy", WorkflowKind.MARKET),
                                (batch, "Stripe, Datadog", WorkflowKind.COMPANIES)):
        select(at, topic)
        assert labels(at) == ["Run again", "Delete"]
        links = actions(at).get("page_link")
        assert [link.proto.label for link in links] == ["Open"]
        page = "companies" if kind is WorkflowKind.COMPANIES else "research"
        assert links[0].proto.page_script_hash == calc_hash(page), "the job's own page (hashed by its address)"
        assert links[0].proto.query_string == f"job={job_id}"
        buttons = actions(at).get("download_button")
        assert [b.label for b in buttons] == [item.label for item in EXPORTS[kind]]
        assert [b.key for b in buttons] == [f"dl-{item.extension}-{job_id}" for item in EXPORTS[kind]]
        assert f"“{topic}”" in actions(at).caption[0].value, "the whole title shows above the table"


def test_a_failed_job_offers_no_download_and_a_running_one_only_open(server) -> None:
    saved(store(), "failed", status="failed", created_at=1.0)
    at = history()  # the app's job service has started: it no longer takes a running row for an interrupted one
    saved(store(), "still running", created_at=2.0, finished_at=None)
    at.run()
    select(at, "failed")
    assert labels(at) == ["Run again", "Delete"] and at.get("download_button") == []
    select(at, "still running")
    assert labels(at) == [] and [link.proto.label for link in actions(at).get("page_link")] == ["Open"]
    assert "a running job can be deleted once it ends" in actions(at).caption[0].value


def test_delete_names_the_report_asks_first_then_removes_the_row(server) -> None:
    keep = saved(store(), "keep me", created_at=1_700_000_000.0)
    drop = saved(store(), "delete me", created_at=1_700_000_600.0)
    at = select(history(), "delete me")
    at.button(key=f"del-{drop}").click().run()
    assert topics(at) == ["delete me", "keep me"], "the first click only asks"
    assert store().get(drop) is not None
    assert question(at) == f"Delete “delete me” ({started(1_700_000_600.0)})?"

    at.button(key="history-delete-no").click().run()
    assert question(at) == "" and topics(at) == ["delete me", "keep me"] and store().get(drop) is not None
    assert labels(at) == ["Run again", "Delete"], "still selected"

    at.button(key=f"del-{drop}").click().run()
    assert [b.label for b in at.get_by_key("history-confirm").button] == ["Delete report", "Cancel"]
    at.button(key="history-delete-yes").click().run()
    assert not at.exception
    assert topics(at) == ["keep me"]
    assert store().get(drop) is None and store().get(keep) is not None
    assert labels(at) == [], "nothing is selected after the delete (the next row is not)"


def test_the_question_goes_when_the_selection_changes(server) -> None:
    saved(store(), "first", created_at=1.0)
    second = saved(store(), "second", created_at=2.0)
    at = select(history(), "second")
    at.button(key=f"del-{second}").click().run()
    assert question(at).startswith("Delete “second”")
    select(at, "first")
    assert question(at) == "" and labels(at) == ["Run again", "Delete"]
    assert len(topics(at)) == 2


def test_several_selected_rows_are_deleted_together_after_one_question(server) -> None:
    times = {"a": 1_700_000_000.0, "b": 1_700_000_060.0, "c": 1_700_000_120.0, "d": 1_700_000_180.0}
    ids = {topic: saved(store(), topic, created_at=at_) for topic, at_ in times.items()}
    at = select(history(), "b", "d")
    assert labels(at) == ["Compare", "Delete 2 selected"]
    assert actions(at).caption[0].value == "“d”, “b”"
    at.button(key="history-delete-selected").click().run()
    assert question(at) == f"Delete 2 reports: “d” ({started(times['d'])}) and “b” ({started(times['b'])})?"
    assert topics(at) == ["d", "c", "b", "a"]
    at.button(key="history-delete-yes").click().run()
    assert not at.exception
    assert topics(at) == ["c", "a"]
    assert store().get(ids["b"]) is None and store().get(ids["d"]) is None and store().get(ids["a"]) is not None

    select(at, "c", "a")
    at.button(key="history-delete-selected").click().run()
    assert [b.label for b in at.get_by_key("history-confirm").button] == ["Delete 2 reports", "Cancel"]


def test_a_bulk_question_names_the_first_reports_and_counts_the_rest(server) -> None:
    for n in range(5):
        saved(store(), f"report {n}", created_at=1_700_000_000.0 + 60 * n)
    at = select(history(), *[f"report {n}" for n in range(5)])
    at.button(key="history-delete-selected").click().run()
    assert question(at).startswith("Delete 5 reports: “report 4” (")
    assert question(at).endswith("“report 2” (" + started(1_700_000_120.0) + ") and 2 more?")


def test_a_running_job_is_left_out_of_a_bulk_delete(server) -> None:
    done = saved(store(), "done", created_at=1.0)
    at = history()
    running = saved(store(), "running", created_at=2.0, finished_at=None)
    at = select(at.run(), "done", "running")
    assert labels(at) == ["Delete 1 selected"]
    assert "1 running report is left out" in actions(at).caption[0].value
    at.button(key="history-delete-selected").click().run()
    at.button(key="history-delete-yes").click().run()
    assert topics(at) == ["running"] and store().get(done) is None and store().get(running) is not None


def test_the_selection_stays_on_the_same_jobs_when_rows_move(server) -> None:
    saved(store(), "older", created_at=1.0)
    saved(store(), "chosen", created_at=2.0)
    at = select(history(), "chosen")
    assert at.session_state[TABLE]["selection"]["rows"] == [0]
    saved(store(), "newer, from another session", created_at=3.0)
    at.run()
    assert topics(at) == ["newer, from another session", "chosen", "older"]
    assert at.session_state[TABLE]["selection"]["rows"] == [1], "the table ticks the same job in its new row"
    assert "“chosen”" in actions(at).caption[0].value
    at.text_input(key="history-search").input("old").run()
    assert topics(at) == ["older"] and labels(at) == [], "a job no longer listed is no longer selected"


# Comparing two runs, and what each run spent.


def market_run(topic: str, started_at: float, size_bn: float) -> str:
    """A finished demo market report saved as started at ``started_at``, its market USD ``size_bn`` billion (2025)."""
    result = demo_market(topic)
    result.started_at = started_at
    size = result.market.result.market_size
    size.value, size.scale, size.currency, size.year = size_bn, "billion", "USD", 2025
    return saved(store(), topic, created_at=started_at, finished_at=started_at + 5.0, result_json=result.model_dump_json())


def compared(at: AppTest) -> str:
    """The comparison shown below the actions ("" when none): its heading and text, in one string."""
    try:
        shown = at.get_by_key("history-comparison")
    except KeyError:
        return ""
    return "\n\n".join([m.value for m in shown.markdown] + [e.value for e in shown.error])


def test_compare_is_offered_only_for_two_finished_market_reports(server) -> None:
    saved(store(), "dairy one", created_at=1.0)
    saved(store(), "dairy two", created_at=2.0)
    saved(store(), "Stripe, Adyen", kind="companies", created_at=3.0)
    saved(store(), "failed dairy", status="failed", created_at=4.0)
    at = history()
    saved(store(), "running dairy", created_at=5.0, finished_at=None)
    at.run()
    select(at, "dairy one", "dairy two")
    assert labels(at) == ["Compare", "Delete 2 selected"]
    assert "no comparison" not in actions(at).caption[0].value
    for other, why in (("Stripe, Adyen", "“Stripe, Adyen” is not a market report"),
                       ("failed dairy", "“failed dairy” failed with no report"),
                       ("running dairy", "“running dairy” is still running")):
        select(at, "dairy one", other)
        assert "Compare" not in labels(at), other
        assert actions(at).caption[0].value.endswith(f" · no comparison: {why}"), actions(at).caption[0].value
    select(at, "dairy one", "dairy two", "Stripe, Adyen")
    assert labels(at) == ["Delete 3 selected"], "three reports are not compared"
    select(at, "dairy one")
    assert "Compare" not in labels(at)


def test_compare_shows_what_changed_from_the_earlier_run_with_its_download(server) -> None:
    earlier = market_run("plant-based dairy", 1_700_000_000.0, 10.0)
    later = market_run("Plant-based dairy", 1_700_086_400.0, 12.0)
    saved(store(), "unrelated", created_at=1_700_100_000.0)
    at = select(history(), "Plant-based dairy", "plant-based dairy")
    assert compared(at) == "", "nothing shows until Compare is clicked"
    at.button(key="history-compare").click().run()
    assert not at.exception
    text = compared(at)
    day = f"{dt.datetime.fromtimestamp(1_700_000_000.0):%-d %b %Y}"
    assert text.startswith(f"##### Compare “Plant-based dairy”, {day}, ")
    assert f"###### What changed since {day}" in text
    assert "USD 10 billion (2025)" in text and "USD 12 billion (2025)" in text and "+20 %" in text
    assert text.index("USD 10 billion") < text.index("USD 12 billion"), "the earlier run comes first"
    download = at.get_by_key("history-comparison").get("download_button")
    assert [b.label for b in download] == ["Download comparison (.md)"]
    box = at.get_by_key("history-comparison")
    charts, tiles = box.get("plotly_chart"), box.get("metric")
    assert len(charts) >= 2 and len(charts) % 2 == 0, "both reports' charts, side by side"
    sizes = [t.value for t in tiles if t.label.startswith("Market size")]
    assert sizes == ["10.0 bn", "12.0 bn"], "each report's headline figures, the earlier on the left"

    comparison = runtime.jobs().compare(later, earlier)  # what the page shows and downloads, in either order
    assert (comparison.earlier_id, comparison.later_id) == (earlier, later)
    document = render_comparison(comparison)
    assert document.startswith(f"# Plant-based dairy\n\n“Plant-based dairy”, {day}, ")
    assert "+20 %" in document and f"## What changed since {day}" in document

    select(at, "Plant-based dairy", "unrelated")
    assert compared(at) == "", "the comparison goes when the selection changes"
    select(at, "Plant-based dairy", "plant-based dairy")
    assert compared(at) == "", "and does not come back by itself"
    at.button(key="history-compare").click().run()
    at.button(key="history-compare-close").click().run()
    assert compared(at) == "" and labels(at) == ["Compare", "Delete 2 selected"], "Close hides it, the rows stay selected"


def test_compare_says_why_a_report_without_its_result_cannot_be_compared(server) -> None:
    dairy = market_run("plant-based dairy", 1_700_000_000.0, 10.0)
    bare = saved(store(), "saved without a result", created_at=1_700_086_400.0)
    at = select(history(), "plant-based dairy", "saved without a result")
    at.button(key="history-compare").click().run()
    assert not at.exception
    assert compared(at) == (f"These reports cannot be compared: the market report '{bare}' has no saved result to "
                            "compare (it failed before any research, or an earlier release saved it without one).")
    with pytest.raises(ValueError, match="no market report '0123456789ab' in the history"):
        runtime.jobs().compare(dairy, "0123456789ab")
    with pytest.raises(ValueError, match="twice"):
        runtime.jobs().compare(dairy, dairy)


def test_the_spend_column_shows_the_runs_tokens_and_estimated_cost(server) -> None:
    saved(store(), "priced", tokens=12_345, cost_usd=0.0042, created_at=1.0)
    saved(store(), "no price known", tokens=7_678, created_at=2.0)
    saved(store(), "expensive", tokens=2_500_000, cost_usd=12.5, created_at=3.0)
    saved(store(), "tiny", tokens=40, cost_usd=0.00002, created_at=4.0)
    saved(store(), "older release", created_at=5.0)
    at = history()
    assert cell(at, "priced", "Spend") == "$0.004 · 12,345 tok"
    assert cell(at, "no price known", "Spend") == "7,678 tok"
    assert cell(at, "expensive", "Spend") == "$12.50 · 2.5M tok"
    assert cell(at, "tiny", "Spend") == "<$0.001 · 40 tok"
    assert pd.isna(cell(at, "older release", "Spend")), "unknown: the table shows its dash"
    select(at, "priced")
    assert "\\$0.004 · 12,345 tok" in actions(at).caption[0].value, "the selected row's caption has it whole"


def run_again(job_id: str, topic: str) -> tuple[AppTest, str]:
    """Select ``topic``'s row and click *Run again*: the page, and the new job's id from its URL."""
    at = select(history(), topic)
    at.button(key=f"again-{job_id}").click().run()
    assert not at.exception
    new_id = at.query_params["job"]
    new_id = new_id[0] if isinstance(new_id, list) else new_id
    assert new_id != job_id
    return at, new_id


def test_run_again_starts_the_same_research_and_opens_it(server) -> None:
    first = finished(MarketRequest.parse("vertical farming"))
    at, new_id = run_again(first, "vertical farming")
    snapshot = runtime.jobs().snapshot(new_id)
    assert snapshot is not None and snapshot.title == "vertical farming"
    assert snapshot.status in (JobStatus.RUNNING, JobStatus.COMPLETE)
    assert any("vertical farming" in s.label for s in at.status), "the research page shows the new job"
    assert [b.label for b in at.button if b.key == "new"] == ["New research"], "on the research page"

    assert runtime.jobs().wait(new_id, 30)
    assert runtime.jobs().store.get(new_id).status == JobStatus.COMPLETE
    assert [j.id for j in runtime.jobs().store.list(search="vertical farming")] == [new_id, first]


def test_run_again_of_a_company_batch_opens_the_companies_page(server) -> None:
    first = finished(CompanyRequest.parse(["Stripe", "Datadog"], 2))
    at, new_id = run_again(first, "Stripe, Datadog")
    assert runtime.jobs().snapshot(new_id).request.names == ("Stripe", "Datadog")
    assert any(t.value == "Company research" for t in at.title)
    assert runtime.jobs().wait(new_id, 30)


def test_retry_is_offered_where_the_reports_page_offers_it(server) -> None:
    result = demo_market("plant-based dairy")
    result.customer = result.customer.model_copy(update={"state": StepState.FAILED, "result": None, "error": "HTTP 500"})
    result.status = JobStatus.PARTIAL
    job_id = saved(store(), "plant-based dairy", status="partial", result_json=result.model_dump_json())
    complete = saved(store(), "complete one", result_json=demo_market("complete one").model_dump_json(), created_at=1.0)
    at = select(history(), "plant-based dairy")
    assert labels(at) == ["Run again", "Retry failed parts (1)", "Delete"]
    select(at, "complete one")
    assert labels(at) == ["Run again", "Delete"], f"a complete job ({complete}) has nothing to retry"

    select(at, "plant-based dairy")
    at.button(key=f"retry-{job_id}").click().run()
    assert not at.exception
    new_id = at.query_params["job"]
    new_id = new_id[0] if isinstance(new_id, list) else new_id
    assert new_id != job_id and [b.label for b in at.button if b.key == "new"] == ["New research"]
    assert runtime.jobs().wait(new_id, 30)
    assert runtime.jobs().store.get(new_id).status == JobStatus.COMPLETE


# The preview, on results of the offline demo model.


def _demo() -> ModelSource:
    return ModelSource("demo", "offline-demo", "demo", None, {}, DemoModel(speed=200))


def demo_market(topic: str) -> MarketResearchResult:
    return asyncio.run(run_market_research(topic, Settings(demo=True), models=_demo()))


def demo_batch(names: list[str]) -> CompanyBatchResult:
    return asyncio.run(run_company_batch(names, Settings(demo=True), models=_demo()))


def test_history_preview_of_a_market_report() -> None:
    result = demo_market("oat milk")
    size = result.market.result.market_size
    size.value, size.scale, size.currency, size.year = 4.2, "billion", "USD", 2024
    leader, other = result.competitor.result.competitors[:2]
    leader.name, leader.market_share_percent, other.market_share_percent = "Oatly", 18.0, 5.0
    for rest in result.competitor.result.competitors[2:]:
        rest.market_share_percent = 1.0
    assert history_preview(result) == "USD 4.2 bn (2024) · leader Oatly 18 %"
    size.value, size.scale = 120.0, "million"
    assert history_preview(result).startswith("USD 120 M (2024) · ")
    size.value = 1500.25
    assert history_preview(result).startswith("USD 1,500.2 M (2024) · ")


def test_history_preview_says_only_what_the_result_holds() -> None:
    result = demo_market("oat milk")
    no_market = result.model_copy(update={"market": result.market.model_copy(update={"result": None,
                                                                                     "state": StepState.FAILED})})
    assert history_preview(no_market).startswith("leader ")
    none = no_market.model_copy(update={"competitor": result.competitor.model_copy(update={"result": None,
                                                                                          "state": StepState.FAILED})})
    assert history_preview(none) == ""
    assert history_preview(None) == ""
    for competitor in result.competitor.result.competitors:
        competitor.market_share_percent = None
    assert re.search(r" · leader [^%]+$", history_preview(result)), "an unknown share is left out"


def test_history_preview_of_a_company_batch() -> None:
    result = demo_batch(["Stripe", "Adyen", "Klarna"])
    assert history_preview(result) == "3 companies"
    failed = result.companies[1].model_copy(update={"state": StepState.FAILED, "result": None, "error": "HTTP 500"})
    one_failed = result.model_copy(update={"companies": [result.companies[0], failed, result.companies[2]]})
    assert history_preview(one_failed) == "3 companies · 1 failed"
    assert history_preview(result.model_copy(update={"companies": result.companies[:1]})) == "1 company"


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
