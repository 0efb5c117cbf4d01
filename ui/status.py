"""Live step status: one card per research agent (with its section), the summary, early findings."""

from __future__ import annotations

import pydantic_core
import streamlit as st

from research.jobs.service import JobSnapshot, StepState, StepView
from research.reports import markdown as md
from research.reports import views
from research.reports.views import SUMMARY_TITLE, AgentCard, evidence_text, summary_step

ICONS = {  # Material icons ship with Streamlit, so they render without emoji fonts
    StepState.QUEUED: ":gray[:material/schedule:]",
    StepState.RUNNING: ":blue[:material/progress_activity:]",
    StepState.RETRYING: ":orange[:material/autorenew:]",
    StepState.DONE: ":green[:material/check_circle:]",
    StepState.FAILED: ":red[:material/error:]",
    StepState.TIMED_OUT: ":red[:material/timer_off:]",
    StepState.CANCELLED: ":gray[:material/cancel:]",
    StepState.SKIPPED: ":gray[:material/remove_circle:]",
}


def describe(step: StepView) -> list[str]:
    """The lines of a step's card, already escaped for Markdown."""
    head = f"{ICONS[step.state]} **{step.state.value}**"
    if step.elapsed is not None:
        head += f" · {step.elapsed:.1f} s"
    lines = [head]
    if step.state is StepState.RETRYING:
        lines.append(f"attempt {step.attempt} of {step.max_attempts}: {md.inline(step.message)}")
    elif step.message:
        lines.append(md.inline(step.message))
    elif step.attempt > 1 and not step.state.finished:
        lines.append(f"attempt {step.attempt} of {step.max_attempts}")
    requests = f" in {step.requests} requests" if step.requests > 1 else ""
    if step.tokens:
        lines.append(f"{step.tokens:,} tokens{requests}")
    elif step.requests and step.state.finished:  # the server reported no usage (llama-cpp-python's does not)
        lines.append(f"tokens unknown{requests}")
    if step.notes:
        count = f"{len(step.notes)} data notes" if len(step.notes) > 1 else "1 data note"
        lines.append(f":orange[{count}]: {md.inline(step.notes[0])}")
    return lines


def _section_line(step: StepView | None) -> str:
    if step is None:
        return ""
    words = {StepState.QUEUED: "waits for the research", StepState.RUNNING: "being written",
             StepState.RETRYING: "being written (retrying)", StepState.DONE: "written"}
    if step.state is StepState.QUEUED and step.message:  # e.g. "queued (provider limit)"
        return f"{ICONS[step.state]} Section {md.inline(step.message)}"
    return f"{ICONS[step.state]} Section {words.get(step.state, step.state.value)}"


def _evidence_line(card: AgentCard) -> str:
    """What the agent's evidence step is doing: searching → reading N pages → how many passages it kept."""
    step = card.evidence_step
    return "" if step is None else f"{ICONS[step.state]} {evidence_text(step, card.evidence)}"


def agent_cards(snapshot: JobSnapshot) -> None:
    """One bordered card per research agent (with its section's state) and one for the summary."""
    cards = views.agent_cards(snapshot.steps, snapshot.partial)
    columns = st.columns(len(cards) + 1)
    for column, card in zip(columns, cards):
        with column.container(border=True, key=f"agent-{card.key}"):
            st.markdown(f"**{card.title}**")
            lines = [_evidence_line(card), *describe(card.step), _section_line(card.section_step)]
            st.markdown("  \n".join(line for line in lines if line))
            if card.data is not None and not snapshot.finished:
                st.caption(md.inline(card.data.headline()))
    with columns[-1].container(border=True, key="agent-summary"):
        st.markdown(f"**{SUMMARY_TITLE}**")
        st.markdown("  \n".join(describe(summary_step(snapshot.steps))))


def writing_preview(text: str, field: str) -> None:
    """Show a JSON answer's ``field`` as the model writes it."""
    try:
        partial = pydantic_core.from_json(text, allow_partial="trailing-strings") if text else {}
    except ValueError:
        partial = {}
    value = partial.get(field) if isinstance(partial, dict) else None
    if value and isinstance(value, str):
        with st.container(border=True):
            st.caption("As it is written")
            st.markdown(md.prose(value))
    elif text:
        st.caption(f"Writing… {len(text):,} characters so far")
