"""Step keys, typed: what each step of a graph is, and the one place that names each step for people.

A step key is a :class:`StepKey`: a ``str`` whose value is the text stored with
every outcome ("agent:market", "evidence:company:Stripe", "report:summary"), so
saved runs keep loading and dicts keyed by plain strings still find it, with
its :attr:`~StepKey.kind` and :attr:`~StepKey.subject` parsed once. Keys read
back from stored outcomes become typed again with :meth:`StepKey.parse`.

:data:`RESEARCH_AGENTS` is the one table of the market workflow's three
research agents: the titles of their steps, their report sections and their
cards on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

from research.agents import competitor, customer, market
from research.agents.spec import AgentSpec


@dataclass(frozen=True)
class ResearchAgent:
    """One of the market workflow's research agents, and every name it is shown by."""

    spec: AgentSpec[Any]
    section_title: str
    """The title of the report section written from its data, e.g. "Market Overview"."""
    card_title: str
    """The title of its card on the research page, e.g. "Competitors"."""
    noun: str
    """What its data is called in a notice, e.g. "Competitor" (as in "Competitor data unavailable")."""

    @property
    def key(self) -> str:
        """The agent's name, e.g. "market" (the subject of its step keys)."""
        return self.spec.key

    @property
    def title(self) -> str:
        """The agent's step as the user reads it, e.g. "Market analysis"."""
        return self.spec.title


RESEARCH_AGENTS: tuple[ResearchAgent, ...] = (
    ResearchAgent(market.SPEC, section_title="Market Overview", card_title="Market", noun="Market"),
    ResearchAgent(competitor.SPEC, section_title="Competitive Landscape", card_title="Competitors", noun="Competitor"),
    ResearchAgent(customer.SPEC, section_title="Customer Segments", card_title="Customers", noun="Customer"),
)
"""The market workflow's research agents, in report order."""

_AGENTS = {agent.key: agent for agent in RESEARCH_AGENTS}


def research_agent(name: str) -> ResearchAgent:
    """The research agent called ``name`` ("market", "competitor" or "customer"); ValueError for any other."""
    try:
        return _AGENTS[name]
    except KeyError:
        raise ValueError(f"no research agent is called {name!r}") from None


class StepKind(StrEnum):
    """What a step does."""

    EVIDENCE = "evidence"
    """A research agent's evidence: search, read, select ("evidence:market")."""
    AGENT = "agent"
    """A research agent's answer ("agent:market")."""
    SECTION = "section"
    """The report section written from a research agent's data ("section:market")."""
    SUMMARY = "summary"
    """The executive summary and recommendations ("report:summary")."""
    COMPANY_EVIDENCE = "company_evidence"
    """A company's evidence ("evidence:company:Stripe")."""
    COMPANY = "company"
    """A company's profile ("company:Stripe")."""
    COMPARISON = "comparison"
    """The comparison of the companies ("report:comparison")."""
    CHANGES = "changes"
    """The paragraph on what changed since the person's last report on the topic ("report:changes"), written
    once the run has ended (not a step of the graph)."""


AGENT_KINDS = (StepKind.EVIDENCE, StepKind.AGENT, StepKind.SECTION)
"""The kinds whose subject is a research agent."""
COMPANY_KINDS = (StepKind.COMPANY_EVIDENCE, StepKind.COMPANY)
"""The kinds whose subject is a company name as the user asked for it."""
_PREFIXES = {StepKind.EVIDENCE: "evidence:", StepKind.AGENT: "agent:", StepKind.SECTION: "section:",
             StepKind.COMPANY_EVIDENCE: "evidence:company:", StepKind.COMPANY: "company:"}
_FIXED = {StepKind.SUMMARY: "report:summary", StepKind.COMPARISON: "report:comparison",
          StepKind.CHANGES: "report:changes"}
_PARSE_ORDER = (StepKind.COMPANY_EVIDENCE, StepKind.COMPANY, StepKind.EVIDENCE, StepKind.AGENT, StepKind.SECTION)
"""Longest prefix first: "evidence:company:…" is a company's evidence, never an agent called "company:…"."""


class StepKey(str):
    """A step's key: the ``str`` stored with its outcome, with its :attr:`kind` and :attr:`subject` parsed once.

    Equal to, and hashed like, its text: ``StepKey.agent("market") == "agent:market"``. Build keys with the
    constructors (:meth:`agent`, :meth:`evidence`, :meth:`section`, :meth:`company`, :meth:`company_evidence`,
    :attr:`SUMMARY`, :attr:`COMPARISON`) and read stored ones back with :meth:`parse`.
    """

    SUMMARY: StepKey
    """The summary step's key, "report:summary"."""
    COMPARISON: StepKey
    """The comparison step's key, "report:comparison"."""
    CHANGES: StepKey
    """The what-changed paragraph's key, "report:changes"."""

    _kind: StepKind
    _subject: str

    def __new__(cls, kind: StepKind | str, subject: str = "") -> StepKey:
        """The key of the ``kind`` of step about ``subject`` (a research agent's or a company's name, or ""
        for the summary and the comparison); ValueError for an unknown kind, agent or an empty company name."""
        kind = StepKind(kind)
        if kind in _FIXED:
            if subject:
                raise ValueError(f"a {kind.value} step has no subject (got {subject!r})")
            text = _FIXED[kind]
        else:
            if kind in AGENT_KINDS:
                research_agent(subject)
            elif not subject:
                raise ValueError(f"a {kind.value} step needs a company name")
            text = _PREFIXES[kind] + subject
        key = super().__new__(cls, text)
        object.__setattr__(key, "_kind", kind)
        object.__setattr__(key, "_subject", subject)
        return key

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a StepKey cannot be changed")

    def __reduce__(self) -> tuple[type[StepKey], tuple[StepKind, str]]:
        # Pickled as its kind and subject (the durable jobs pickle the steps' calls).
        return StepKey, (self._kind, self._subject)

    def __repr__(self) -> str:
        return f"StepKey({str.__repr__(self)})"

    @property
    def kind(self) -> StepKind:
        """What the step does."""
        return self._kind

    @property
    def subject(self) -> str:
        """The research agent ("market") or the company as the user asked for it ("Stripe"); "" for the summary
        and the comparison."""
        return self._subject

    @property
    def label(self) -> str:
        """The step as the user reads it, e.g. "Market analysis", "Stripe: evidence", "Executive summary"."""
        match self._kind:
            case StepKind.AGENT:
                return research_agent(self._subject).title
            case StepKind.EVIDENCE:
                return f"{research_agent(self._subject).title}: evidence"
            case StepKind.SECTION:
                return research_agent(self._subject).section_title
            case StepKind.SUMMARY:
                return "Executive summary"
            case StepKind.COMPANY:
                return self._subject
            case StepKind.COMPANY_EVIDENCE:
                return f"{self._subject}: evidence"
            case StepKind.COMPARISON:
                return "Comparison"
            case StepKind.CHANGES:
                return "What changed"
        raise AssertionError(self._kind)  # pragma: no cover - every kind is named above

    @property
    def research_agent(self) -> ResearchAgent:
        """The research agent of an evidence, agent or section step; ValueError for any other kind."""
        if self._kind not in AGENT_KINDS:
            raise ValueError(f"{self!r} is not a research agent's step")
        return research_agent(self._subject)

    @classmethod
    def parse(cls, text: str) -> StepKey:
        """The key whose text is ``text`` (a key read back from a stored outcome or an event); a StepKey is
        returned as it is. ValueError for text that is no step's key."""
        if isinstance(text, StepKey):
            return text
        for kind, fixed in _FIXED.items():
            if text == fixed:
                return cls(kind)
        for kind in _PARSE_ORDER:
            prefix = _PREFIXES[kind]
            if text.startswith(prefix):
                try:
                    return cls(kind, text[len(prefix):])
                except ValueError:
                    break
        raise ValueError(f"{text!r} is not a step key")

    @classmethod
    def evidence(cls, agent: str) -> StepKey:
        """The key of a research agent's evidence step, e.g. "evidence:market"."""
        return cls(StepKind.EVIDENCE, agent)

    @classmethod
    def agent(cls, agent: str) -> StepKey:
        """The key of a research agent's step, e.g. "agent:market"."""
        return cls(StepKind.AGENT, agent)

    @classmethod
    def section(cls, agent: str) -> StepKey:
        """The key of the section written from a research agent's data, e.g. "section:market"."""
        return cls(StepKind.SECTION, agent)

    @classmethod
    def company(cls, name: str) -> StepKey:
        """The key of the profile of the company the user asked for, e.g. "company:Stripe"."""
        return cls(StepKind.COMPANY, name)

    @classmethod
    def company_evidence(cls, name: str) -> StepKey:
        """The key of a company's evidence step, e.g. "evidence:company:Stripe"."""
        return cls(StepKind.COMPANY_EVIDENCE, name)


StepKey.SUMMARY = StepKey(StepKind.SUMMARY)
StepKey.COMPARISON = StepKey(StepKind.COMPARISON)
StepKey.CHANGES = StepKey(StepKind.CHANGES)


def step_label(key: str) -> str:
    """Any step key (typed or as stored) as the user reads it; text that is no step's key is shown as it is."""
    try:
        return StepKey.parse(key).label
    except ValueError:
        return key
