"""Live agent status: one card per agent, the streaming synthesis, early results."""

from __future__ import annotations

import pydantic_core
import streamlit as st

from research.core.executor import TaskState
from research.jobs import AgentView, JobSnapshot
from research.reports import markdown as md

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
        lines.append(f"attempt {agent.attempt} of {agent.max_attempts}: {md.inline(agent.message)}")
    elif agent.message:
        lines.append(md.inline(agent.message))
    elif agent.attempt > 1 and not agent.state.finished:
        lines.append(f"attempt {agent.attempt} of {agent.max_attempts}")
    if agent.tokens:
        requests = f" in {agent.requests} requests" if agent.requests > 1 else ""
        lines.append(f"{agent.tokens:,} tokens{requests}")
    if agent.notes:
        count = f"{len(agent.notes)} data notes" if len(agent.notes) > 1 else "1 data note"
        lines.append(f":orange[{count}]: {md.inline(agent.notes[0])}")
    return lines


def agent_cards(snapshot: JobSnapshot) -> None:
    """Draw one bordered card per agent, side by side, with early findings when ready."""
    columns = st.columns(len(snapshot.agents))
    for column, agent in zip(columns, snapshot.agents):
        with column.container(border=True, key=f"agent-{agent.key}"):
            st.markdown(f"**{TITLES.get(agent.key, agent.key)}**")
            st.markdown("  \n".join(describe(agent)))
            if agent.key in snapshot.partial and not snapshot.finished:
                st.caption(md.inline(snapshot.partial[agent.key].headline()))


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
