"""Market-research studio: enter a topic, watch three agents research it, read the report.

Run with ``make run`` (``streamlit run app.py``). This file only sets the page
up and routes; the pages draw engine state from ``research`` via ``ui``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import nav, runtime, sidebar

ICON = Path(__file__).parent / "static" / "icon.png"  # served by the app itself: no request leaves the machine
st.set_page_config(page_title="Market research studio", page_icon=str(ICON), layout="wide")
# Addresses are lower case; one typed in another case (`/History`) moves to its page's own (`/history?job=…`).
navigation = nav.navigate(st.context.url)
sidebar.provider_panel(runtime.settings_or_stop(), session_key=bool(st.session_state.get(runtime.SESSION_KEY)))
navigation.run()
