"""The companies page: paste names, research them all at once, compare."""

from __future__ import annotations

import streamlit as st

from research.inputs import MAX_COMPANIES, CompanyRequest, InputError, WorkflowKind
from ui import intents, job_view, runtime
from ui.runtime import session_settings

EXAMPLE = "Stripe\nDatadog\nCloudflare\nVercel"


def page() -> None:
    """Draw the companies page."""
    settings = runtime.settings_or_stop()
    if st.query_params.get("job"):
        intents.show_on_own_page(st.query_params["job"], WorkflowKind.COMPANIES)
    st.title("Company research")
    st.caption(f"Profile up to {MAX_COMPANIES} companies at once — industry, position, products, recent "
               "developments, advantages — then compare them.")
    with st.form("companies", border=True):
        names = st.text_area("Companies, one per line", key="companies", placeholder=EXAMPLE, height=160,
                             help="Blank lines and repeats are ignored.")
        error = st.session_state.pop("companies_error", None)
        if error:
            st.error(error, icon=":material/edit:")
        concurrency = st.number_input("Companies researched at once", min_value=1, max_value=20,
                                      value=min(settings.max_concurrency, 20), step=1)
        if st.form_submit_button("Research companies", type="primary", icon=":material/rocket_launch:"):
            try:
                request = CompanyRequest.parse(names.splitlines(), int(concurrency))
                job_id = intents.start(request, session_settings(settings))
                if job_id is not None:
                    st.query_params["job"] = job_id
            except InputError as exc:
                st.session_state["companies_error"] = str(exc)
                st.rerun()
    job_id = st.query_params.get("job")
    if job_id:
        job_view.show(job_id)
