"""Market-research studio: enter a topic, watch three agents research it, read the report.

Run with ``make run`` (``streamlit run app.py``). This file only sets the page
up and routes; the pages draw engine state from ``research`` via ``ui``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import auth, nav, runtime, sidebar

ICON = Path(__file__).parent / "static" / "icon.png"  # served by the app itself: no request leaves the machine
st.set_page_config(page_title="Market research studio", page_icon=str(ICON), layout="wide")
auth.gate()  # with `[auth]` in the secrets: the sign-in page, and nothing else, until the visitor signs in
# Addresses are lower case; one typed in another case (`/History`) moves to its page's own (`/history?job=…`).
navigation = nav.navigate(st.context.url)
runtime.keep_session_key()  # a key pasted in Run options outlives the form folding away
auth.account_panel()  # who is signed in, or (without sign-in, on an open address) a warning
sidebar.provider_panel(runtime.settings_or_stop(), session_key=bool(runtime.session_key()))
navigation.run()
