"""Sign-in: with ``[auth]`` in Streamlit's secrets, every visitor signs in first (OpenID Connect, ``st.login``).

Without ``[auth]`` the app has one user, :data:`research.owners.LOCAL`, exactly as before; served on an
address other people can reach, it then says so in the sidebar and, once, in the server log. The
provider's settings (``client_secret``, ``cookie_secret``) are never shown or logged. See
`docs/sharing.md`.
"""

from __future__ import annotations

import ipaddress
import logging
import threading

import streamlit as st

from research.owners import LOCAL, Owner
from research.reports import markdown as md
from ui import nav

LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})
"""Server addresses only this machine can reach (``server.address``)."""
OPEN_ADDRESS_WARNING = ("Anyone who can reach this address can use the app and its key: "
                        "configure sign-in, see docs/sharing.md")
"""What the sidebar and the server log say when anyone may reach an app without sign-in."""
SIGN_IN = "Sign in"
SIGN_OUT = "Sign out"

_log = logging.getLogger(__name__)
_logged = threading.Event()  # the open-address warning went to the log (once per server process)
_log_lock = threading.Lock()


def configured() -> bool:
    """True when Streamlit's secrets have an ``[auth]`` section (no secrets file at all: False, no error)."""
    secrets = st.secrets
    return secrets.load_if_toml_exists() and bool(secrets.get("auth"))


def signed_in() -> bool:
    """True when sign-in is configured and this visitor has signed in."""
    return configured() and bool(st.user.get("is_logged_in"))


def owner() -> Owner:
    """Who this session's jobs belong to: the signed-in person, or :data:`~research.owners.LOCAL` without sign-in.

    With sign-in configured, an anonymous visitor never gets an owner: they see the sign-in page and the
    run stops (as in :func:`gate`).
    """
    if not configured():
        return LOCAL
    gate()
    return Owner.signed_in(str(st.user.get("iss") or ""), str(st.user.get("sub") or ""),
                           _text(st.user.get("email")), _text(st.user.get("name")))


def gate() -> None:
    """With sign-in configured and nobody signed in: draw the sign-in page, then stop the run.

    Call after ``st.set_page_config`` and before the navigation or any page. Nothing else is drawn: no
    sidebar, no page menu, no page. Every page's address (and one typed in another case, `/History`)
    shows the sign-in page, through a hidden navigation of its own, so no address says "Page not found".
    """
    if not configured() or st.user.get("is_logged_in"):
        return
    addresses = [page.url_path for page in nav.pages() if page.url_path]  # the default page's is "": `/`
    typed = nav.miscased(st.context.url)
    if typed is not None:
        addresses.append(typed[0])
    pages = [st.Page(_sign_in_page, title=SIGN_IN, default=True),
             *(st.Page(_sign_in_page, title=SIGN_IN, url_path=address) for address in addresses)]
    st.navigation(pages, position="hidden").run()
    st.stop()


def _sign_in_page() -> None:
    with st.container(width=760):  # no sidebar here: keep the lines short enough to read
        st.title("Market research studio")
        st.markdown("Three AI agents research an industry or market at the same time — its size and growth, the "
                    "competitors, the customers — and write a report with tables, charts and their sources. "
                    "A second workflow profiles and compares companies.")
        st.markdown("This app is shared: **sign in** with your account to use it.")
        if st.button(SIGN_IN, type="primary", icon=":material/login:", key="auth-sign-in"):
            st.login()


def server_address() -> str | None:
    """The address the server listens on (``server.address``); None when unset, which means every interface."""
    address = st.get_option("server.address")
    return str(address) if address else None


def open_address(address: str | None) -> bool:
    """True when a server on ``address`` (None: every interface) can be reached from other machines.

    Loopback addresses and Unix sockets are local; a reverse proxy in front of them is the operator's choice.
    """
    if address is None:
        return True
    host = address.strip().strip("[]").lower()
    if host in LOCAL_ADDRESSES or host.startswith("unix://"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback  # 127.0.0.2 is this machine's too
    except ValueError:
        return True  # a host name: whoever resolves it may reach it


def warn_if_open() -> bool:
    """Log :data:`OPEN_ADDRESS_WARNING` once per server process when the app, without sign-in, is open.

    Returns True when it is open (whether or not this call logged). Call on every run: the first one
    after start-up logs it (Streamlit runs no app code before the first visitor).
    """
    address = server_address()
    if address is None and st.context.url is None:
        return False  # no server listens (AppTest): an unset address binds nothing
    if configured() or not open_address(address):
        return False
    with _log_lock:
        if not _logged.is_set():
            _logged.set()
            _log.warning("%s (server.address = %s)", OPEN_ADDRESS_WARNING, address or "unset: every interface")
    return True


def account_panel() -> None:
    """The sidebar's account panel: who is signed in and *Sign out*; without sign-in, the open-address warning."""
    if not configured():
        if warn_if_open():
            with st.sidebar:
                st.warning(OPEN_ADDRESS_WARNING, icon=":material/public:")
        return
    if not st.user.get("is_logged_in"):
        return  # the sign-in page, drawn by gate(), has no sidebar
    person = owner()
    who = person.name or person.email or person.subject
    with st.sidebar:
        st.markdown(f":material/account_circle: Signed in as **{md.inline(who)}**")
        if person.name and person.email:
            st.caption(md.inline(person.email))
        if st.button(SIGN_OUT, icon=":material/logout:", key="auth-sign-out"):
            st.logout()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
