"""The report is written while research still runs: seen at the test server, over real HTTP.

The research agents answer after 0.5 s, 1.0 s and 3.0 s. The slowest agent's answer is held
back at the server until the sections of the two faster agents have been requested, so the
test fails (by the hold timing out) if sections waited for all research; and the last
section and the summary are each held until the other has arrived, so it fails if they ran
one after the other.
"""

from __future__ import annotations

import threading

from stub import Plan, agent_of, serve

from research.config import Settings
from research.core.limits import Limits
from research.workflows.market import run_market_research
from tests.support.openai_server import Reply, StubRequest

HOLD = 20.0  # seconds a held answer waits at most before it is given anyway (and the test fails)


def section_of(request: StubRequest) -> str:
    """Which data section a section-writing request is for."""
    return next(agent for agent in ("market", "competitor", "customer") if f'"{agent}": {{' in request.user_text)


async def test_sections_are_written_while_the_slowest_agent_runs_and_the_rest_in_parallel() -> None:
    fast_sections_asked = threading.Event()
    last_section_asked, summary_asked = threading.Event(), threading.Event()
    sections_seen: list[str] = []
    lock = threading.Lock()
    plan = Plan(latency={"market": 0.5, "competitor": 1.0, "customer": 3.0})

    def respond(request: StubRequest) -> Reply:
        agent = agent_of(request)
        if agent == "section":
            with lock:
                sections_seen.append(section_of(request))
                if {"market", "competitor"} <= set(sections_seen):
                    fast_sections_asked.set()
            if section_of(request) == "customer":
                last_section_asked.set()
                summary_asked.wait(HOLD)
        if agent == "summary":
            summary_asked.set()
            last_section_asked.wait(HOLD)
        reply = plan(request)
        if agent == "customer":
            fast_sections_asked.wait(HOLD)  # the slowest agent lands only once both faster sections are asked for
        return reply

    with serve(Plan(gate=respond)) as server:
        settings = Settings(api_key="sk-test", base_url=server.base_url, api="chat_completions", model="stub-model")
        result = await run_market_research("plant-based dairy", settings,
                                           limits=Limits(concurrency=5, attempt_timeout=30, max_retries=0))
        requests = server.requests

    assert fast_sections_asked.is_set() and sections_seen[:2] == ["market", "competitor"], \
        "the fast agents' sections were requested while the slowest agent was still running"
    assert summary_asked.is_set() and last_section_asked.is_set(), "the last section and the summary overlapped"
    assert result.status.value == "complete"
    order = [agent_of(r) for r in requests]
    customer_at = order.index("customer")
    summary_at = order.index("summary")
    assert summary_at > customer_at and order.count("section") == 3
    assert [s for s in order[summary_at:] if s != "section"] == ["summary"], "nothing else waited for the last agent"
