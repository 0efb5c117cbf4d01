"""Live agent status: one card per agent, the streaming synthesis, early results."""

from __future__ import annotations

import pydantic_core
import streamlit as st
from pydantic import BaseModel

from research import markdown as md
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.executor import TaskState
from research.jobs import AgentView, JobSnapshot

TITLES = {"market": "Market", "competitor": "Competitors", "customer": "Customers", "synthesis": "Executive report"}
ICONS = {  # Material icons ship with Streamlit, so they render without emoji fonts
    TaskState.QUEUED: ":gray[:material/schedule:]",
    TaskState.RUNNING: ":blue[:material/progress_activity:]",
    TaskState.RETRYING: ":orange[:material/autorenew:]",
    TaskState.DONE: ":green[:material/check_circle:]",
    TaskState.FAILED: ":red[:material/error:]",
    TaskState.TIMED_OUT: ":red[:material/timer_off:]",
    TaskState.CANCELLED: ":gray[:material/cancel:]",
    TaskState.SKIPPED: ":gray[:material/remove_circle:]",
}

def describe(agent: AgentView) -> list[str]:
    """The lines of an agent's card, already escaped for Markdown."""
    head = f"{ICONS[agent.state]} **{agent.state.value}**"
    if agent.elapsed is not None:
        head += f" · {agent.elapsed:.1f} s"
    lines = [head]
    if agent.state is TaskState.RETRYING:
        lines.append(f"attempt {agent.attempt + 1} of {agent.max_attempts}: {md.inline(agent.message)}")
    elif agent.message and agent.state.finished:
        lines.append(md.inline(agent.message))
    elif agent.attempt > 1:
        lines.append(f"attempt {agent.attempt} of {agent.max_attempts}")
    if agent.tokens:
        lines.append(f"{agent.tokens:,} tokens")
    return lines


def headline(key: str, data: BaseModel) -> str:
    """One line of a finished research agent's findings, shown before the report is ready."""
    if isinstance(data, MarketData):
        size = data.market_size
        return f"{md.inline(size.currency)} {size.value:,.1f} {size.scale} ({size.year}) · CAGR {data.growth.cagr_percent:g} %"
    if isinstance(data, CompetitorReport):
        leader = max(data.competitors, key=lambda c: c.market_share_percent or 0)
        return f"{len(data.competitors)} competitors · leader {md.inline(leader.name)}"
    if isinstance(data, CustomerReport):
        largest = max(data.segments, key=lambda s: s.share_percent or 0)
        return f"{len(data.segments)} segments · largest {md.inline(largest.name)}"
    return ""


def agent_cards(snapshot: JobSnapshot) -> None:
    """Draw one bordered card per agent, side by side, with early findings when ready."""
    columns = st.columns(len(snapshot.agents))
    for column, agent in zip(columns, snapshot.agents):
        with column.container(border=True, key=f"agent-{agent.key}"):
            st.markdown(f"**{TITLES.get(agent.key, agent.key)}**")
            st.markdown("  \n".join(describe(agent)))
            if agent.key in snapshot.partial and not snapshot.finished:
                st.caption(headline(agent.key, snapshot.partial[agent.key]))


def synthesis_preview(text: str) -> None:
    """Show the executive summary as the synthesis agent writes it (its output is JSON)."""
    try:
        partial = pydantic_core.from_json(text, allow_partial=True) if text else {}
    except ValueError:
        partial = {}
    summary = partial.get("executive_summary") if isinstance(partial, dict) else None
    if summary:
        with st.container(border=True):
            st.caption("Executive summary, as it is written")
            st.markdown(md.prose(summary))
    elif text:
        st.caption(f"Writing the report… {len(text):,} characters so far")
