"""The app's pages, created once so links and navigation share the same objects."""

from __future__ import annotations

from functools import cache

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from ui import research_page


@cache
def research() -> StreamlitPage:
    """The research page (the default page, at `/`)."""
    return st.Page(research_page.page, title="Research", icon=":material/analytics:", url_path="research", default=True)


@cache
def history() -> StreamlitPage:
    """The history page, at `/History`."""
    return st.Page("pages/History.py", title="History", icon=":material/history:", url_path="History")


@cache
def companies() -> StreamlitPage:
    """The company batch page, at `/companies`."""
    return st.Page("pages/Companies.py", title="Companies", icon=":material/domain:", url_path="companies")
