"""The research page: topic form, then the job named in the URL."""

from __future__ import annotations

import streamlit as st

from research.config import Settings, describe_settings
from research.inputs import MAX_TOPIC_LENGTH, InputError, MarketRequest, WorkflowKind
from ui import intents, job_view, runtime
from ui.runtime import SESSION_KEY, session_settings

EXAMPLES = ("Electric vehicle charging in Europe", "Plant-based dairy", "B2B payroll software", "Vertical farming")


def _use_example(topic: str) -> None:
    st.session_state["topic"] = topic


def _start(settings: Settings, topic: str, model: str, timeout: float) -> None:
    options = session_settings(settings).with_changes(model=model.strip() or settings.model, agent_timeout=float(timeout))
    try:
        job_id = intents.start(MarketRequest.parse(topic), options)
    except InputError as exc:
        st.session_state["topic_error"] = str(exc)
        return
    if job_id is not None:
        st.query_params["job"] = job_id


def topic_form(settings: Settings) -> None:
    """Example topics, the topic input with its error, run options and the button."""
    examples = st.container(horizontal=True, key="examples", vertical_alignment="center")
    examples.caption("Try:")
    for example in EXAMPLES:
        examples.button(example, on_click=_use_example, args=(example,), type="tertiary", key=f"example-{example}")

    with st.form("research", border=True):
        topic = st.text_input("Industry or market", key="topic", placeholder="e.g. electric vehicle charging in Europe",
                              max_chars=MAX_TOPIC_LENGTH, help=f"One line, up to {MAX_TOPIC_LENGTH} characters.")
        error = st.session_state.pop("topic_error", None)
        if error:
            st.error(error, icon=":material/edit:")
        with st.expander("Run options"):
            _, default_model = describe_settings(settings)
            model = st.text_input("Model", value=settings.model or "", placeholder=default_model,
                                  help="Used by every agent. The offline demo model ignores it.")
            st.text_input("OpenAI API key for this session", key=SESSION_KEY, type="password",
                          placeholder="sk-… (optional; overrides the configured key)",
                          help="Kept only in this browser session: never saved, logged or shown.")
            timeout = st.number_input("Per-agent timeout (seconds)", min_value=5, max_value=600,
                                      value=int(settings.agent_timeout), step=5)
        if st.form_submit_button("Generate report", type="primary", icon=":material/rocket_launch:"):
            _start(settings, topic, model or "", timeout)
            if "topic_error" in st.session_state:
                st.rerun()


def _new_research() -> None:
    st.query_params.pop("job", None)
    st.session_state["topic"] = ""


def _topic_of_linked_job(job_id: str) -> None:
    """After a reload or a shared link, the form shows the linked job's topic (once per job)."""
    if st.session_state.get("topic_of_job") == job_id:
        return
    snapshot = runtime.jobs().snapshot(job_id)
    if snapshot is not None and snapshot.kind is WorkflowKind.MARKET:
        st.session_state["topic"] = snapshot.title
    st.session_state["topic_of_job"] = job_id


def page() -> None:
    """Draw the research page."""
    settings = runtime.settings_or_stop()
    job_id = st.query_params.get("job")
    if job_id:
        intents.show_on_own_page(job_id, WorkflowKind.MARKET)
        _topic_of_linked_job(job_id)
    st.title("Market research studio")
    st.caption("Three agents research a market at the same time — market size, competitors, customers — "
               "and the report is written section by section as their findings land.")
    if job_id:  # the report comes first; the form folds away until asked for
        with st.expander("Research another topic", icon=":material/edit:"):
            topic_form(settings)
    else:
        topic_form(settings)
    job_id = st.query_params.get("job")  # the form may just have started one
    if job_id:
        st.button("New research", key="new", icon=":material/add:", type="tertiary", on_click=_new_research)
        job_view.show(job_id)
