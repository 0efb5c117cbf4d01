"""The research page: topic form, then the job named in the URL."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from research.config import ConfigError, SearchChoice, Settings, check_budget_price, describe_settings
from research.inputs import MAX_TOPIC_LENGTH, InputError, MarketRequest, WorkflowKind
from research.reports.views import available_searches, search_label
from ui import intents, job_view, runtime
from ui.runtime import SESSION_KEY, session_settings

EXAMPLES = ("Electric vehicle charging in Europe", "Plant-based dairy", "B2B payroll software", "Vertical farming")


def _start(request: MarketRequest, options: Settings) -> None:
    """Start researching ``request`` and show its job (the job of the same request if one is running)."""
    job_id = intents.start(request, options)
    if job_id is not None:
        st.query_params["job"] = job_id


def _run_example(settings: Settings, topic: str) -> None:
    """An example topic, one click to its report (with the configured run options)."""
    st.session_state["topic"] = topic
    _start(MarketRequest.parse(topic), session_settings(settings))


@dataclass(frozen=True)
class RunOptions:
    """What the form's *Run options* set for one run (a None search or budget: the configuration's own)."""

    model: str
    timeout: float
    search: SearchChoice | None
    budget_tokens: int | None
    budget_usd: float | None

    def applied(self, settings: Settings) -> Settings:
        """``settings`` with these options (a budget of 0 is no budget); ConfigError for a USD budget on a model
        whose price is unknown."""
        options = session_settings(settings).with_changes(model=self.model.strip() or settings.model,
                                                          agent_timeout=float(self.timeout),
                                                          budget_tokens=self.budget_tokens or None,
                                                          budget_usd=self.budget_usd or None)
        if self.search is not None:
            options = options.with_changes(search=self.search)
        check_budget_price(options, describe_settings(options)[1] if options.model or not options.base_url else None)
        return options


def _submit(settings: Settings, topic: str, run: RunOptions) -> None:
    try:
        request = MarketRequest.parse(topic)
    except InputError as exc:  # the topic stays in the box, to be shortened or fixed
        st.session_state["topic_error"] = str(exc)
        return
    try:
        options = run.applied(settings)
    except ConfigError as exc:
        st.session_state["topic_error"] = f"Run options: {exc}"
        return
    _start(request, options)


def budget_options(settings: Settings) -> tuple[int | None, float | None]:
    """This run's token and USD budgets (the configured ones to begin with; 0: no limit). None in the demo."""
    if settings.demo:
        return None, None
    with st.container(horizontal=True, gap="small"):
        tokens = st.number_input("Token budget", min_value=0, value=settings.budget_tokens or 0, step=5_000,
                                 help="Input + output tokens this run may spend; 0: no limit. A request that "
                                      "does not fit is not sent, and its step shows *skipped: budget reached*.")
        usd = st.number_input("USD budget", min_value=0.0, value=float(settings.budget_usd or 0), step=0.01,
                              format="%.2f", help="The same in estimated USD at the model's price (a known price "
                                                  "is needed); 0: no limit.")
    return int(tokens), float(usd)


def expected_spend(settings: Settings) -> None:
    """What a run is expected to spend with the configured settings, said before it starts (not in the demo)."""
    if settings.demo:
        return
    try:
        estimate = runtime.jobs().estimate(MarketRequest.parse(EXAMPLES[0]), session_settings(settings))
    except ConfigError:
        return
    st.caption(f":material/savings: Expected spend per report: {estimate.label}")


def search_option(settings: Settings) -> SearchChoice | None:
    """The run's web search, chosen among the configured ones (None in the demo, which never searches)."""
    choices = available_searches(settings)
    if not choices:
        st.caption("Web search: none — the offline demo's sources are illustrative, never fetched.")
        return None
    return st.selectbox("Web search", choices, format_func=lambda choice: search_label(choice, settings),
                        help="Where this run's search queries go; the pages found are then read from their sites. "
                             "The default is what the configuration selects (RESEARCH_SEARCH).")


def topic_form(settings: Settings) -> None:
    """Example topics (one click to a report), the topic input with its error, run options and the button."""
    examples = st.container(horizontal=True, key="examples", vertical_alignment="center", gap="small")
    examples.caption("Try:", width="content")
    for example in EXAMPLES:
        examples.button(example, on_click=_run_example, args=(settings, example), type="tertiary",
                        key=f"example-{example}", help="Research this topic now")

    with st.form("research", border=True):
        # No max_chars: the browser would drop a longer paste silently; the limit is checked on Generate.
        topic = st.text_input("Industry or market", key="topic", placeholder="e.g. electric vehicle charging in Europe",
                              help=f"One line, up to {MAX_TOPIC_LENGTH} characters.")
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
            search = search_option(settings)
            budget_tokens, budget_usd = budget_options(settings)
            timeout = st.number_input("Per-agent timeout (seconds)", min_value=5, max_value=600,
                                      value=int(settings.agent_timeout), step=5)
        expected_spend(settings)
        if st.form_submit_button("Generate report", type="primary", icon=":material/rocket_launch:"):
            _submit(settings, topic, RunOptions(model or "", timeout, search, budget_tokens, budget_usd))
            if "topic_error" in st.session_state or st.query_params.get("job"):
                st.rerun()  # the error under the box, or the job's page


def _new_research() -> None:
    st.query_params.pop("job", None)
    st.session_state["topic"] = ""


def new_research_button() -> None:
    """Leave the job for the form (the one control for a new topic while a job is shown)."""
    st.button("New research", key="new", icon=":material/add:", type="primary", on_click=_new_research)


def page() -> None:
    """Draw the research page: the form, or the job named in the URL (report first, form folded away)."""
    settings = runtime.settings_or_stop()
    job_id = st.query_params.get("job")
    if job_id:
        intents.show_on_own_page(job_id, WorkflowKind.MARKET)
        job_view.show(job_id, new=new_research_button)
        return
    st.title("Market research studio")
    st.caption("Three agents research a market at the same time — market size, competitors, customers — "
               "and the report is written section by section as their findings land.")
    topic_form(settings)
