"""The command line: exit codes, one-line messages, no request for bad input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from stub import Plan, serve

from research.cli import main
from tests.support.openai_server import Reply

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `python -m research` in a fresh process, as a user would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "research", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)


LOADED = """
import runpy, sys
sys.argv = ["research", *sys.argv[1:]]
try:
    runpy.run_module("research", run_name="__main__")
except SystemExit as exit:
    print("exit", exit.code)
loaded = [name for name in ("agents", "openai", "dbos", "pydantic", "plotly") if name in sys.modules]
tracing = sys.modules.get("agents.tracing.processors")
if tracing is not None and tracing._global_exporter is not None:  # the SDK's trace exporter: an HTTP client
    loaded.append("trace-exporter")
print(" ".join(loaded))
"""


@pytest.mark.parametrize(("args", "not_loaded"), [
    (["--help"], {"agents", "openai", "dbos", "pydantic"}),  # the help text needs no model and no settings
    (["companies", "--help"], {"agents", "openai", "dbos", "pydantic"}),
    ([""], {"agents", "openai", "dbos"}),  # a bad topic is told before the engine loads
])
def test_help_and_bad_input_answer_before_the_engine_loads(args: list[str], not_loaded: set[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
    done = subprocess.run([sys.executable, "-c", LOADED, *args], capture_output=True, text=True, timeout=60,
                          env={**env, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL)
    *_, exit_line, loaded_line = done.stdout.splitlines()
    assert exit_line == ("exit 0" if "--help" in args else "exit 2"), done.stdout + done.stderr
    assert not set(loaded_line.split()) & not_loaded, loaded_line
    if args == ["--help"]:
        assert "--resume" in done.stdout and "--worker" in done.stdout


def test_a_demo_report_written_as_markdown_loads_neither_plotly_nor_the_trace_exporter(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
    out = tmp_path / "report.md"
    done = subprocess.run([sys.executable, "-c", LOADED, "--demo", "coffee shops", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**env, "PYTHONPATH": str(ROOT), "RESEARCH_DATA_DIR": str(tmp_path / "data")})
    *_, exit_line, loaded_line = done.stdout.splitlines()
    assert exit_line == "exit 0", done.stdout + done.stderr
    assert "## Executive Summary" in out.read_text(encoding="utf-8")
    assert {"agents", "dbos"} <= set(loaded_line.split()), loaded_line
    assert not {"plotly", "trace-exporter"} & set(loaded_line.split()), loaded_line  # no HTML, and tracing is off


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([""], "Enter a topic"),
        (["   "], "Enter a topic"),
        (["x" * 201], "the limit is 200"),
        (["two\nlines"], "control characters or line breaks"),
        (["ok topic", "--colour"], "unrecognized arguments: --colour"),
        ([], "the following arguments are required: topic"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_request(args, message, monkeypatch, capsys) -> None:
    with serve() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("RESEARCH_MODEL", "stub-model")
        code = main(args)
        requests = server.requests
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and err.startswith("research: ")
    assert requests == []


def test_a_real_provider_without_a_key_exits_2(monkeypatch, capsys) -> None:
    monkeypatch.setenv("RESEARCH_DEMO", "0")
    assert main(["plant-based dairy"]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def test_bad_numbers_in_the_environment_exit_2(monkeypatch, capsys) -> None:
    monkeypatch.setenv("RESEARCH_AGENT_TIMEOUT", "soon")
    assert main(["--demo", "plant-based dairy"]) == 2
    assert "RESEARCH_AGENT_TIMEOUT must be a number" in capsys.readouterr().err


def test_unwritable_output_exits_2_before_any_work(monkeypatch, capsys, tmp_path) -> None:
    assert main(["--demo", "plant-based dairy", "--out", str(tmp_path / "missing" / "r.md")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_complete_report_exits_0_and_writes_files(tmp_path) -> None:
    with serve() as server:
        env = {"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model"}
        proc = run_cli("electric vehicle charging in Europe", "--out", str(tmp_path / "r.md"), "--json", str(tmp_path / "r.json"), env=env)
    assert proc.returncode == 0, proc.stderr
    report = (tmp_path / "r.md").read_text()
    for heading in ("Executive Summary", "Market Overview", "Competitive Landscape", "Customer Segments", "Strategic Recommendations"):
        assert f"## {heading}" in report
    assert '"status": "complete"' in (tmp_path / "r.json").read_text()
    # progress went to stderr: a line per research agent and per section, and the summary
    for label in ("Market analysis", "Competitor analysis", "Customer analysis", "Market Overview",
                  "Competitive Landscape", "Customer Segments", "Executive summary"):
        assert re.search(rf"(?m)^{label} +✓ done in ", proc.stderr), label
    assert proc.stdout == ""


def test_partial_report_exits_3() -> None:
    plan = Plan(always={"competitor": lambda r: Reply(status=500)})
    with serve(plan) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_MAX_RETRIES": "0"}
        proc = run_cli("plant-based dairy", env=env)
    assert proc.returncode == 3, proc.stderr
    assert "Competitor data unavailable** — server error (HTTP 500)" in proc.stdout
    assert re.search(r"(?m)^Competitor analysis +✗ failed: server error \(HTTP 500\)$", proc.stderr)
    assert re.search(r"(?m)^Competitive Landscape +- skipped", proc.stderr), "no section is written without its data"
    assert re.search(r"(?m)^Executive summary +✓ done", proc.stderr)


def test_no_report_exits_1() -> None:
    plan = Plan(always={k: (lambda r: Reply(status=503)) for k in ("market", "competitor", "customer")})
    with serve(plan) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_MAX_RETRIES": "0"}
        proc = run_cli("plant-based dairy", env=env)
        writing_calls = [r for r in server.requests if r.schema_title in ("SectionText", "ExecutiveSummary")]
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "no report: every research agent failed" in proc.stderr
    assert writing_calls == []


def test_demo_report_is_watermarked(tmp_path) -> None:
    proc = run_cli("--demo", "plant-based dairy", "--out", str(tmp_path / "demo.md"))
    assert proc.returncode == 0, proc.stderr
    report = (tmp_path / "demo.md").read_text()
    assert report.count("Demo data — generated offline without a language model; not research.") >= 2


def test_ctrl_c_stops_within_2_s_and_keeps_what_finished(tmp_path) -> None:
    import signal
    import time

    plan = Plan(always={"customer": lambda r: Reply(hang=True)})
    with serve(plan) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
        env.update({"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "PYTHONPATH": str(ROOT)})
        out = tmp_path / "cancelled.md"
        proc = subprocess.Popen([sys.executable, "-m", "research", "plant-based dairy", "--out", str(out)],
                                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=env)
        seen = []
        for line in proc.stderr:  # progress lines tell us when the market agent has finished
            seen.append(line)
            if re.match(r"Market analysis\s+✓ done", line):
                break
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        stopped_after = time.monotonic() - sent
        rest = proc.stderr.read()
    assert proc.returncode == 130, "".join(seen) + rest
    assert stopped_after < 2.0
    report = out.read_text()
    assert "Cancelled" in report and "| Figure | Value |" in report  # the finished market data is kept
    assert "cancelled" in rest
