"""What the command line tells a user about a run is true: step times, tokens, durations, labels, notes, provider.

Most checks read one run against a server that behaves like llama-cpp-python's: it refuses JSON schemas
(so every research agent notes it switches to JSON mode) and reports no token usage.
"""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import pytest
from test_cli import run_cli

from research.core.steps import StatusEvent, StepState, TokenUsage, duration_label, tokens_label
from research.progress import ProgressDisplay
from research.providers.demo_content import demo_output_for
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.responders import schema_title

RESEARCH_AGENTS = ("Market analysis", "Competitor analysis", "Customer analysis")
JSON_MODE_NOTE = "the model server does not accept JSON schemas; using JSON mode"
LLAMA_CPP_REFUSAL = {"error": {"message": "Input should be 'text' or 'json_object'", "type": "invalid_request_error"}}


class LlamaLike:
    """Answers like llama-cpp-python's server: no token usage in any answer, and JSON schemas refused.

    The three research agents' first requests are refused only once all three have arrived, so each of them
    learns it (and notes it); the refusal takes a while, so each step's time before its note shows.
    """

    def __init__(self) -> None:
        self.together = threading.Barrier(len(RESEARCH_AGENTS), timeout=30)

    def __call__(self, request: StubRequest) -> Reply:
        if request.response_format_type == "json_schema":
            try:
                self.together.wait()
            except threading.BrokenBarrierError:
                pass
            return Reply(status=400, error_body=LLAMA_CPP_REFUSAL, delay=0.5)
        return Reply(content=demo_output_for(schema_title(request), request.user_text), input_tokens=0, output_tokens=0)


class Run:
    """One CLI run against the llama-like server: what it printed and the report it wrote."""

    def __init__(self, tmp: Path) -> None:
        with StubOpenAIServer(LlamaLike()) as server:
            env = {"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_DATA_DIR": str(tmp / "data")}
            self.proc = run_cli("plant-based dairy", "--out", str(tmp / "r.md"), env=env)
        self.stderr = self.proc.stderr
        self.report = (tmp / "r.md").read_text()

    def done_times(self) -> dict[str, str]:
        """Each step's time as the progress display printed it when the step was done."""
        return dict(re.findall(r"(?m)^(\S.*?) +✓ done in (\d+(?:\.\d)? s)", self.stderr))

    def table(self) -> dict[str, list[str]]:
        """The report's "Run details" rows by step: status, time, requests, tokens."""
        details = self.report.split("## Run details", 1)[1]
        rows = re.findall(r"(?m)^\| (.+?) \| (.+?) \| (.+?) \| (.+?) \| (.+?) \|$", details)
        return {row[0]: list(row[1:]) for row in rows[2:]}

    def facts(self) -> str:
        """The report's line of run facts ("Provider: …")."""
        return next(line for line in self.report.splitlines() if line.startswith("Provider: "))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    done = Run(tmp_path_factory.mktemp("llama-like"))
    assert done.proc.returncode == 0, done.stderr
    return done


def test_a_steps_time_runs_from_its_start_as_in_the_run_details(run: Run) -> None:
    assert JSON_MODE_NOTE in run.stderr, "the research agents noted something half-way through"
    shown, table = run.done_times(), run.table()
    assert len(table) == 10 and shown == {step: row[1] for step, row in table.items()}, run.stderr


def test_tokens_the_server_did_not_report_read_unknown_not_zero(run: Run) -> None:
    assert "0 tokens" not in run.stderr
    for agent in RESEARCH_AGENTS:
        assert re.search(rf"(?m)^{agent} +✓ done in .*, tokens unknown$", run.stderr), agent
        assert run.table()[agent][3] == "unknown"
    assert run.table()["Market analysis: evidence"][2:] == ["—", "—"], "a step without model requests made none"
    assert run.facts().endswith(" · tokens unknown (the model server reported no usage)"), "and no cost is estimated"


def test_durations_are_rounded_for_people(run: Run) -> None:
    report_written = re.search(r"(?m)^Report written to .* \(complete, (.+)\)$", run.stderr)
    assert report_written and re.fullmatch(r"\d+\.\d s", report_written.group(1))
    assert not re.search(r"\d\.\d{2,} s", run.stderr + run.report)
    assert [duration_label(s) for s in (44.9968, 1.53, 0.04, 9.96, 148.9)] == ["45 s", "1.5 s", "0.0 s", "10 s", "149 s"]


def test_labels_are_never_cut(run: Run) -> None:
    for agent in RESEARCH_AGENTS:
        assert re.search(rf"(?m)^{agent}: evidence +✓ done", run.stderr), agent


def test_a_live_terminal_shows_labels_whole() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    label = "Competitor analysis: evidence from a long list of sources"
    terminal = Terminal()
    display = ProgressDisplay(["short", label], terminal)
    display(StatusEvent(label, StepState.RUNNING, 0.0, 1, 3))
    assert re.search(rf"{re.escape(label)} +… running", terminal.getvalue())


def test_a_note_is_shown_once_however_many_steps_report_it(run: Run) -> None:
    assert run.stderr.count(JSON_MODE_NOTE) == 1, run.stderr


def test_the_provider_line_names_the_model_once(run: Run) -> None:
    provider = run.facts().split(" · elapsed ", 1)[0]
    assert re.fullmatch(r"Provider: OpenAI-compatible server at `http\S+` \(Chat Completions\) · model stub-model", provider)


def test_a_sum_of_tokens_says_what_was_not_reported() -> None:
    reported, silent, idle = TokenUsage(requests=1, output_tokens=1), TokenUsage(requests=2), TokenUsage()
    assert [tokens_label(u) for u in ([reported], [reported, idle], [silent, idle], [reported, silent], [idle])] == [
        "1 token", "1 token", "tokens unknown", "at least 1 token", "0 tokens"]


def test_no_report_says_so_in_one_short_line_and_writes_the_markdown_asked_for(tmp_path: Path) -> None:
    def unavailable(request: StubRequest) -> Reply:
        return Reply(status=503)

    with StubOpenAIServer(unavailable) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_MAX_RETRIES": "0",
               "RESEARCH_DATA_DIR": str(tmp_path / "data")}
        proc = run_cli("plant-based dairy", "--out", str(tmp_path / "r.md"), "--json", str(tmp_path / "r.json"), env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    last = proc.stderr.splitlines()[-1]
    assert last == f"research: no report: every research agent failed (each step's reason is above and in {tmp_path / 'r.md'})"
    assert proc.stderr.count("every research agent failed") == 1
    report = (tmp_path / "r.md").read_text()
    assert "**No report** — every research agent failed:" in report
    for agent in RESEARCH_AGENTS:
        assert f"> - {agent}: model server unavailable (HTTP 503)" in report
        assert re.search(rf"(?m)^{agent} +✗ failed: model server unavailable \(HTTP 503\)$", proc.stderr), "and above"
    assert '"status": "failed"' in (tmp_path / "r.json").read_text()


def test_the_run_time_limit_is_printed_rounded(tmp_path: Path) -> None:
    with StubOpenAIServer(lambda request: Reply(hang=True)) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_RUN_TIMEOUT": "1",
               "RESEARCH_DATA_DIR": str(tmp_path / "data")}
        proc = run_cli("plant-based dairy", env=env)
    limits = re.findall(r"time limit of (\S+) s", proc.stderr)
    assert limits and all(re.fullmatch(r"\d+(\.\d)?", limit) for limit in limits), proc.stderr
