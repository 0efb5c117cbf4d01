"""The app's pages, each a file in `pages/` that draws itself with one function of a `ui` module.

Fresh ``st.Page`` objects per call: a page object carries per-run state that
``st.navigation`` sets, so sharing one between concurrent sessions raises
"This page cannot be called directly". Links match pages by URL path.

Every page's address is lower case, and an address typed in another case (`/History`, `/COMPANIES`)
opens its page too: ``st.navigation`` matches addresses exactly, so :func:`navigate` recognises such
an address first and moves to the page's own address, keeping the query (e.g. `?job=…`).
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from research.inputs import WorkflowKind


class _Spec(NamedTuple):
    script: str
    title: str
    icon: str


_PAGES = {  # by address; the first is the default page, also at `/`
    "research": _Spec("pages/research.py", "Research", ":material/analytics:"),
    "companies": _Spec("pages/companies.py", "Companies", ":material/domain:"),
    "history": _Spec("pages/history.py", "History", ":material/history:"),
}
_DEFAULT = next(iter(_PAGES))
ROUTED = "nav-routed"
"""Session key set by :func:`navigate` and taken by :func:`ui.shell.through_app`: this run's page came through
the app's navigation."""


def _page(address: str, url_path: str | None = None) -> StreamlitPage:
    script, title, icon = _PAGES[address]
    return st.Page(script, title=title, icon=icon, url_path=url_path or address,
                   default=address == _DEFAULT and url_path is None)


def research() -> StreamlitPage:
    """The research page (the default page, at `/`)."""
    return _page("research")


def companies() -> StreamlitPage:
    """The company batch page, at `/companies`."""
    return _page("companies")


def history() -> StreamlitPage:
    """The history page, at `/history`."""
    return _page("history")


def pages() -> list[StreamlitPage]:
    """Every page of the app, in the navigation's order (the default page first)."""
    return [_page(address) for address in _PAGES]


def page_for(kind: WorkflowKind) -> StreamlitPage:
    """The page that shows jobs of ``kind``."""
    return companies() if kind is WorkflowKind.COMPANIES else research()


def miscased(url: str | None) -> tuple[str, str] | None:
    """``url``'s last path segment and the page address it names in another case, e.g. ("History", "history").

    None when the segment is a page's address exactly, names no page, or there is no URL (e.g. in tests).
    """
    if not url:
        return None
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    address = segment.lower()
    return (segment, address) if address in _PAGES and segment != address else None


def navigate(url: str | None) -> StreamlitPage:
    """The app's navigation (``st.navigation``) for a run whose address is ``url`` (``st.context.url``).

    The page to run, or, for an address in another case, a move to the page's own address: the typed
    address is a hidden alias for this one run, so Streamlit does not say "Page not found" first.
    """
    st.session_state[ROUTED] = True
    typed = miscased(url)
    if typed is None:
        return st.navigation(pages())
    segment, address = typed
    st.navigation([*pages(), _page(address, url_path=segment)], position="hidden")
    st.switch_page(_page(address), query_params=st.query_params.to_dict())
    raise AssertionError("unreachable: st.switch_page ends the run")

