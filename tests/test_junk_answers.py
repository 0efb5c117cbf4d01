"""A model that answers with filler never has it shown as findings, and its run is never called complete.

The test model keeps the answers' shape and numbers but fills every text with what small local models
write: punctuation (``][``, ``]}, {``, ``1.``), the schema's own field descriptions, the first sentence
of its instructions, and the app's data notes handed back as findings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from research.agents.quality import FillerCheck, strip_filler, text_fields
from research.agents.section import SectionText
from research.agents.summary import ExecutiveSummary
from research.config import Settings
from research.core.runs import JobStatus
from research.reports.market import render_markdown
from research.workflows.market import run_market_research
from tests.support.junk import PUNCTUATION, junk_answer
from tests.support.openai_server import StubOpenAIServer

ROOT = Path(__file__).resolve().parents[1]
ECHOES = ("How much a segment will pay, as a level with a short explanation", "One group of customers",
          "You are a market analyst", "Compound annual growth rate in %")


async def test_filler_never_reaches_the_report_and_the_run_is_not_complete(tmp_path) -> None:
    with StubOpenAIServer(junk_answer) as server:
        settings = Settings(api_key="sk-test", base_url=server.base_url, api="chat_completions", model="stub-model",
                            data_dir=tmp_path)
        result = await run_market_research("widgets", settings)
    assert result.status is not JobStatus.COMPLETE
    report = render_markdown(result)
    lines = [line.strip("-*>| ") for line in report.splitlines()]
    for filler in PUNCTUATION:
        assert filler.replace("\\", "\\\\") not in lines and filler not in lines, filler
    for echo in ECHOES:
        assert echo not in report, echo
    reasons = " ".join(o.error or "" for o in result.research)
    assert "repeated the instructions or held only punctuation" in reasons


def test_the_cli_exits_non_zero_for_a_filler_answering_model(tmp_path) -> None:
    with StubOpenAIServer(junk_answer) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
        env.update(PYTHONPATH=str(ROOT), OPENAI_BASE_URL=server.base_url, RESEARCH_MODEL="stub-model",
                   RESEARCH_DATA_DIR=str(tmp_path))
        done = subprocess.run([sys.executable, "-m", "research", "widgets", "--out", str(tmp_path / "r.md")],
                              capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode in (1, 3), (done.returncode, done.stderr[-500:])


def test_a_writer_that_repeats_a_data_note_is_not_taken_at_its_word() -> None:
    note = "Growth period was given backwards; read as 2025–2030."
    check = FillerCheck([], notes=[note])
    data, filler = strip_filler({"executive_summary": f"Summary. {note}", "strategic_recommendations":
                                 [note, "Enter the mid-market first"]}, check, text_fields(ExecutiveSummary))
    assert data == {"strategic_recommendations": ["Enter the mid-market first"]} and (filler.checked, filler.removed) == (3, 2)
    assert strip_filler({"prose": "The market grew quickly."}, check, text_fields(SectionText))[1].removed == 0


@pytest.mark.parametrize(("text", "filler"), [
    ("N/A", True), ("null", True), ("YELLOW", True), ("EXCITATIONAL EXHIBITION,", True), ("[tblname]", True),
    ("{{output}}", True), ("./mX 35789652", True), ("<NAME> (2019-04-30)", True), ("anyOf", True), ("empty", True),
    ("Premium brand [see note] with a loyal base", False), ("SectionText, 1 to 3 paragraphs, not JSON.", True),
    ("The section in plain prose, 1 to 3 paragraphs with a summary of the market's key trends and risks.", True),
    ("No answer", True), ("Risks rise as subsidies end", False), ("Your task is to provide a detailed and concise summary.", True),
    ("SectionText: The section in plain prose, 1 to 3 paragraphs with only one JSON object.", True),
    ("GDPR compliance costs", False), ("AI adoption", False), ("Rising demand from commuters in cities", False),
    ("The market size in Europe grew as cities built cycle lanes and subsidised e-bikes.", False),
])
def test_placeholders_shouting_and_patchworks_of_the_schema_are_filler(text: str, filler: bool) -> None:
    from research.agents import section
    from research.agents.runner import filler_check

    assert filler_check(section.SPEC)(text) is filler


def test_a_name_in_capitals_is_a_name() -> None:
    from research.agents import competitor
    from research.agents.runner import filler_check

    assert not filler_check(competitor.SPEC)("NVIDIA", name=True) and filler_check(competitor.SPEC)("NVIDIA")
