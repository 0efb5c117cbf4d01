"""A scripted OpenAI-compatible server for integration tests (127.0.0.1 only)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import streamlit as st

from research.providers.demo_content import demo_output_for, parse_request
from research.workflows.keys import RESEARCH_AGENTS
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.responders import TITLES, schema_title

AGENT_OF_TITLE = {title: agent for agent, title in TITLES.items()}
"""The agent (spec key) of each output schema title; "section" writes every data section of a market report."""


def agent_of(request: StubRequest) -> str:
    """Which agent sent a request: market, competitor, customer, section, summary, company or comparison."""
    return AGENT_OF_TITLE.get(schema_title(request), "unknown")


def section_of(request: StubRequest) -> str | None:
    """For a section writer's request, the research agent whose section it writes ("market", ...); else None."""
    if agent_of(request) != "section":
        return None
    findings = parse_request(request.user_text).get("findings")
    return next(iter(findings), None) if isinstance(findings, dict) else None


RESEARCH_KEYS = frozenset(agent.key for agent in RESEARCH_AGENTS)
"""The research agents' keys ("market", "competitor", "customer")."""


class Together:
    """Holds each research agent's request until ``count`` of them have arrived, so they are all in flight at
    once; a request that waits ``timeout`` seconds in vain is let through and the wait marked as missed."""

    def __init__(self, count: int, timeout: float = 30) -> None:
        self.count, self.timeout = count, timeout
        self.arrived, self.missed = 0, False
        self.all_here = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, request: StubRequest) -> Reply | None:
        if agent_of(request) not in RESEARCH_KEYS:
            return None
        with self._lock:
            self.arrived += 1
            if self.arrived >= self.count:
                self.all_here.set()
        if not self.all_here.wait(self.timeout):
            self.missed = True
        return None  # then the plan's answer


@dataclass
class Plan:
    """Per-agent behaviour: latency, and a list of replies to give before answering validly.

    Keys are the agents of :func:`agent_of`; "section" covers the three section writers.
    """

    latency: dict[str, float] = field(default_factory=dict)
    before: dict[str, list[Reply]] = field(default_factory=dict)
    always: dict[str, Callable[[StubRequest], Reply]] = field(default_factory=dict)
    gate: Callable[[StubRequest], Reply | None] | None = None
    """Called first for every request; a Reply it returns is given instead of the plan's."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: StubRequest) -> Reply:
        key = agent_of(request)
        if self.gate is not None and (reply := self.gate(request)) is not None:
            return reply
        if key in self.always:
            return self.always[key](request)
        with self._lock:
            queued = self.before.get(key)
            if queued:
                return queued.pop(0)
        content = demo_output_for(schema_title(request), request.user_text)
        return Reply(content=content, delay=self.latency.get(key, 0.0))


def serve(plan: Plan | None = None) -> StubOpenAIServer:
    """A stub server answering according to ``plan`` (start it with ``with``)."""
    return StubOpenAIServer(plan or Plan())


@contextmanager
def app_served(plan: Plan, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StubOpenAIServer]:
    """For an AppTest: the app talks to a stub server answering by ``plan``, keeps its history in a fresh folder
    under ``tmp_path``, and starts (and leaves) with empty caches, so each test gets its own job service."""
    st.cache_resource.clear()
    with serve(plan) as stub:
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        monkeypatch.setenv("RESEARCH_MODEL", "stub-model")
        monkeypatch.setenv("RESEARCH_DATA_DIR", str(tmp_path / "data"))
        yield stub
    st.cache_resource.clear()

