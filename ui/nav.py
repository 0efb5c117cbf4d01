"""The app's pages, each a file in `pages/` that draws itself with one function of a `ui` module.

Fresh ``st.Page`` objects per call: a page object carries per-run state that
``st.navigation`` sets, so sharing one between concurrent sessions raises
"This page cannot be called directly". Links match pages by URL path.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from research.inputs import WorkflowKind


def research() -> StreamlitPage:
    """The research page (the default page, at `/`)."""
    return st.Page("pages/Research.py", title="Research", icon=":material/analytics:", url_path="research",
                   default=True)


def companies() -> StreamlitPage:
    """The company batch page, at `/companies`."""
    return st.Page("pages/Companies.py", title="Companies", icon=":material/domain:", url_path="companies")


def history() -> StreamlitPage:
    """The history page, at `/History`."""
    return st.Page("pages/History.py", title="History", icon=":material/history:", url_path="History")


def page_for(kind: WorkflowKind) -> StreamlitPage:
    """The page that shows jobs of ``kind``."""
    return companies() if kind is WorkflowKind.COMPANIES else research()
