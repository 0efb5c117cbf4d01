"""The app's frame, drawn on every run around the page: page setup, sign-in, navigation and sidebar.

``app.py`` runs it; each file of `pages/` calls :func:`through_app` first, for the runs in which
Streamlit runs a page file on its own.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import auth, nav, runtime, sidebar

ICON = Path(__file__).resolve().parent.parent / "static" / "icon.png"
"""Served by the app itself: no request leaves the machine."""


def run() -> None:
    """Set the page up, ask for sign-in when configured, draw the sidebar and run the page the address names."""
    st.set_page_config(page_title="Market research studio", page_icon=str(ICON), layout="wide")
    auth.gate()  # with `[auth]` in the secrets: the sign-in page, and nothing else, until the visitor signs in
    # Addresses are lower case; one typed in another case (`/History`) moves to its page's own (`/history?job=…`).
    navigation = nav.navigate(st.context.url)
    runtime.keep_session_key()  # a key pasted in Run options outlives the form folding away
    auth.account_panel()  # who is signed in, or (without sign-in, on an open address) a warning
    sidebar.provider_panel(runtime.settings_or_stop(), session_key=bool(runtime.session_key()))
    navigation.run()


def through_app() -> None:
    """Draw the app's frame around this page when Streamlit ran its file on its own; call first in each page file.

    Until some session has run ``app.py`` (just after the server starts), Streamlit treats `pages/` as
    the pages of an app without ``st.navigation``, at addresses named after the files: a first visit to
    `/history` runs `pages/history.py` alone, without the page setup, the sign-in, the sidebar or the
    other pages. This runs the frame in the same run (so a click it carries still counts), which sets
    the app's pages up (ending that treatment for the whole server) and runs the page again inside it.
    The files are named like the pages' own addresses, so those work on a fresh server; an address in
    another case (`/History`) is not a file's, so that one first visit shows Streamlit's "Page not
    found" notice over the page it then opens.
    """
    if st.session_state.pop(nav.ROUTED, False):  # this run came through the frame (taken, so each run asks anew)
        return
    run()
    st.stop()  # the page was drawn inside the frame
