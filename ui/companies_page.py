"""The companies page: paste names, research them all at once, compare."""

from __future__ import annotations

import streamlit as st

from research.config import Settings
from research.inputs import MAX_COMPANIES, CompanyRequest, InputError, WorkflowKind
from ui import intents, job_view, runtime
from ui.runtime import session_settings

NAMES_KEY = "companies"
"""The session-state key of the names box."""
PLACEHOLDER = "One company per line, e.g. Stripe, Datadog…"
"""What the empty names box says: a hint, not names that look typed in."""
EXAMPLES: tuple[tuple[str, ...], ...] = (("Stripe", "Adyen", "Klarna"), ("Datadog", "New Relic", "Dynatrace"),
                                         ("Cloudflare", "Fastly", "Akamai"))
"""Batches one click researches, each a few companies worth comparing."""
MAX_AT_ONCE = 20
"""The most companies the form lets one batch research at the same time."""


def _default_concurrency(settings: Settings) -> int:
    """The form's "researched at once" before it is changed (an example runs with it too)."""
    return min(settings.max_concurrency, MAX_AT_ONCE)


def _run_example(settings: Settings, names: tuple[str, ...]) -> None:
    """Fill the names box with an example and start its batch (a button's callback)."""
    st.session_state[NAMES_KEY] = "\n".join(names)
    job_id = intents.start(CompanyRequest.parse(names, _default_concurrency(settings)), session_settings(settings))
    if job_id is not None:
        st.query_params["job"] = job_id


def names_form(settings: Settings) -> None:
    """Example batches (one click runs one), the names box with its error, the concurrency and the button."""
    examples = st.container(horizontal=True, key="company-examples", vertical_alignment="center", gap="small")
    examples.caption("Try:", width="content")
    for names in EXAMPLES:
        label = ", ".join(names)
        examples.button(label, on_click=_run_example, args=(settings, names), type="tertiary",
                        key=f"example-{label}", help=f"Research {label} now and compare them")

    with st.form("companies-form", border=True):
        names = st.text_area("Companies, one per line", key=NAMES_KEY, placeholder=PLACEHOLDER, height=160,
                             help="Blank lines and repeats are ignored.")
        error = st.session_state.pop("companies_error", None)
        if error:
            st.error(error, icon=":material/edit:")
        concurrency = st.number_input("Companies researched at once", min_value=1, max_value=MAX_AT_ONCE,
                                      value=_default_concurrency(settings), step=1)
        if st.form_submit_button("Research companies", type="primary", icon=":material/rocket_launch:"):
            try:
                request = CompanyRequest.parse(names.splitlines(), int(concurrency))
            except InputError as exc:
                st.session_state["companies_error"] = str(exc)
                st.rerun()
            job_id = intents.start(request, session_settings(settings))
            if job_id is not None:
                st.query_params["job"] = job_id
                st.rerun()  # the form folds away and the batch comes first


def _new_batch() -> None:
    st.query_params.pop("job", None)
    st.session_state[NAMES_KEY] = ""


def new_batch_button() -> None:
    """Leave the batch for an empty form (drawn in the shown job's row of controls)."""
    st.button("New batch", key="new-batch", icon=":material/add:", type="primary", on_click=_new_batch)


def _names_of_linked_job(job_id: str) -> None:
    """After a reload or a shared link, the folded form holds the linked batch's names (once per job)."""
    if st.session_state.get("names_of_job") == job_id:
        return
    snapshot = runtime.jobs().snapshot(job_id, runtime.access())
    if snapshot is not None and isinstance(snapshot.request, CompanyRequest):
        st.session_state[NAMES_KEY] = "\n".join(snapshot.request.names)
    st.session_state["names_of_job"] = job_id


def page() -> None:
    """Draw the companies page: the form, or the batch named in the URL (results first, the form folded away)."""
    settings = runtime.settings_or_stop()
    job_id = st.query_params.get("job")
    if job_id:
        intents.show_on_own_page(job_id, WorkflowKind.COMPANIES)
        _names_of_linked_job(job_id)
    st.title("Company research")
    if job_id:  # the batch comes first: no introduction, and the form folds away until asked for
        with st.expander("Research other companies", icon=":material/edit:"):
            names_form(settings)
        job_view.show(st.query_params.get("job") or job_id, new=new_batch_button)
        return
    st.caption(f"Profile up to {MAX_COMPANIES} companies at once — industry, position, products, recent "
               "developments, advantages — then compare them.")
    names_form(settings)
