"""Sign-in (``[auth]`` in the secrets): in Chromium, against a mock OpenID Connect provider on 127.0.0.1.

An anonymous visitor sees only the sign-in page, at every address, and cannot start research; signing
in as "alice" (the mock's form: type the subject, *Authorize*) opens the research page with her name
in the sidebar; *Sign out* (the mock's *End session*) comes back to the sign-in page. Without
``[auth]`` (AppTest) nothing changes: no sign-in, the local user, and a warning only on an open
address. Screenshots go to ``artifacts/screenshots/signin-*.png``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from browser import (
    ARTIFACTS,
    StreamlitApp,
    exceptions,
    generate_button,
    log_size,
    require_chromium,
    screenshot,
    server_errors,
    topic_box,
)
from playwright.sync_api import Page, expect
from streamlit.testing.v1 import AppTest
from stub import Plan, serve

from research.owners import LOCAL
from tests.support.browser_harness import free_port
from tests.support.oidc import Provider, serve_provider, write_secrets
from tests.support.openai_server import StubOpenAIServer
from ui import auth

WAIT = 20_000  # ms: an upper bound for one UI wait
LOG = ARTIFACTS / "browser-tests" / "streamlit-signin.log"
APP = str(Path(__file__).resolve().parents[1] / "app.py")
ALICE = {"email": "alice@example.com", "name": "Alice Example"}
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
"""The app once its script run has ended (everything it draws is drawn)."""


@pytest.fixture(scope="module")
def stub() -> Iterator[StubOpenAIServer]:
    with serve(Plan()) as server:
        yield server


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with serve_provider({"alice": ALICE}) as running:
        yield running


@pytest.fixture(scope="module")
def app(stub, provider, tmp_path_factory) -> Iterator[StreamlitApp]:
    require_chromium()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.unlink(missing_ok=True)
    port = free_port()  # known before the start: the redirect URI names it
    secrets_file = write_secrets(tmp_path_factory.mktemp("signin-secrets"), provider, port)
    with StreamlitApp(stub.base_url, tmp_path_factory.mktemp("signin-data"), port=port, log_path=LOG,
                      secrets_file=secrets_file) as server:
        yield server


@pytest.fixture
def page(browser, app) -> Iterator[Page]:
    """A fresh browser context (no sign-in cookie)."""
    start = log_size(LOG)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT)
    yield context.new_page()
    context.close()
    assert not server_errors(LOG, start), f"the app raised (see {LOG})"


def sign_in_button(page: Page):
    return page.get_by_role("button", name=auth.SIGN_IN, exact=True)


def expect_sign_in_page_only(page: Page) -> None:
    """The sign-in page and nothing else: no form, no pages menu, no History, no sidebar panels."""
    expect(sign_in_button(page)).to_be_visible()
    expect(page.locator(IDLE)).to_have_count(1)
    expect(page.get_by_role("heading", name="Market research studio")).to_be_visible()
    expect(topic_box(page)).to_have_count(0)
    expect(generate_button(page)).to_have_count(0)
    for absent in ("History", "Companies", "Research", "Model provider", auth.SIGN_OUT):
        expect(page.get_by_text(absent, exact=True)).to_have_count(0)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)  # e.g. no "Page not found"
    expect(exceptions(page)).to_have_count(0)


def test_an_anonymous_visitor_sees_only_the_sign_in_page_at_every_address(app, stub, page) -> None:
    # First `/`: on a server that has run no page yet, a first visit to `/history` says "Page not found"
    # (sign-in or not: Streamlit knows the pages' lower-case addresses only once app.py has run).
    for path in ("/", "/history", "/companies", "/History", "/?job=0123456789ab", "/?job=anything"):
        page.goto(app.url + path)
        expect_sign_in_page_only(page)
        if path == "/History":
            screenshot(page, "signin-anonymous-miscased")
    screenshot(page, "signin-anonymous")
    assert stub.requests == [], "no research started"


def sign_in_as(page: Page, subject: str) -> None:
    """Press *Sign in*, then sign ``subject`` in on the mock provider's form."""
    sign_in_button(page).click()
    subject_box = page.get_by_placeholder("sub")
    expect(subject_box).to_be_visible()
    screenshot(page, "signin-provider-form")
    subject_box.fill(subject)
    page.get_by_role("button", name="Authorize").click()


def test_signing_in_opens_the_app_with_who_in_the_sidebar_and_signing_out_closes_it(app, page) -> None:
    page.goto(app.url + "/")
    sign_in_as(page, "alice")
    expect(topic_box(page)).to_be_visible()
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text("Signed in as Alice Example")).to_be_visible()
    expect(sidebar.get_by_text("alice@example.com")).to_be_visible()
    expect(sidebar.get_by_role("link", name="History")).to_be_visible()
    expect(sidebar.get_by_text(auth.OPEN_ADDRESS_WARNING)).to_have_count(0)
    screenshot(page, "signin-signed-in")
    page.goto(app.url + "/history")  # the sign-in holds on every page
    expect(page.get_by_role("heading", name="History", exact=True)).to_be_visible()
    expect(sidebar.get_by_text("Signed in as Alice Example")).to_be_visible()

    sidebar.get_by_role("button", name=auth.SIGN_OUT).click()
    page.get_by_role("button", name="End session").click()  # the mock provider's end of its session
    expect_sign_in_page_only(page)
    screenshot(page, "signin-signed-out")
    page.goto(app.url + "/history")
    expect_sign_in_page_only(page)


# Without `[auth]`: AppTest in this process (no secrets file: the tests run in a temporary folder).

@pytest.fixture
def local_app(monkeypatch, tmp_path) -> Iterator[None]:
    st.cache_resource.clear()
    monkeypatch.setenv("RESEARCH_DATA_DIR", str(tmp_path / "data"))
    address = st.get_option("server.address")
    yield
    st.config.set_option("server.address", address)
    st.cache_resource.clear()


def run_app(address: str | None, *, secrets: dict | None = None, user: dict | None = None) -> AppTest:
    st.config.set_option("server.address", address)
    at = AppTest.from_file(APP, default_timeout=30)
    if secrets:
        at.secrets.update(secrets)
    if user is not None:
        at.user = user
    return at.run()


def sidebar_texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.sidebar.markdown, *at.sidebar.caption, *at.sidebar.warning])


def test_without_auth_the_app_is_single_user_as_before(local_app) -> None:
    at = run_app("127.0.0.1")
    assert not at.exception
    assert at.text_input(key="topic") is not None
    assert [b.label for b in at.button if b.label in (auth.SIGN_IN, auth.SIGN_OUT)] == []
    assert "Signed in as" not in sidebar_texts(at)
    assert auth.OPEN_ADDRESS_WARNING not in sidebar_texts(at)
    assert not auth.configured()
    assert auth.owner() == LOCAL
    at = run_app(None)  # as other AppTests run: no server, so no address anyone could reach
    assert not at.exception
    assert auth.OPEN_ADDRESS_WARNING not in sidebar_texts(at)


def test_without_auth_on_an_open_address_the_sidebar_and_the_log_warn(local_app, caplog, monkeypatch) -> None:
    monkeypatch.setattr(auth, "_logged", type(auth._logged)())  # this process may have warned already
    caplog.set_level(logging.WARNING, logger="ui.auth")
    at = run_app("0.0.0.0")
    at.run()
    assert not at.exception
    assert at.text_input(key="topic") is not None
    assert [w.value for w in at.sidebar.warning if w.value == auth.OPEN_ADDRESS_WARNING] == [auth.OPEN_ADDRESS_WARNING]
    logged = [r.getMessage() for r in caplog.records if r.name == "ui.auth"]
    assert len(logged) == 1 and logged[0].startswith(auth.OPEN_ADDRESS_WARNING), "logged once, at the first run"
    assert [auth.open_address(a) for a in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2", "0.0.0.0", "::", "10.0.0.5",
                                                "app.example", None)] == \
        [False, False, False, False, False, True, True, True, True, True]


AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                 "client_id": "id", "client_secret": "secret",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}


def test_with_auth_an_anonymous_run_stops_at_the_sign_in_page(local_app) -> None:
    at = run_app("0.0.0.0", secrets=AUTH, user={"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.button] == [auth.SIGN_IN]
    assert not at.text_input, "no research form"
    assert sidebar_texts(at) == "", "nothing in the sidebar, no open-address warning"


def test_with_auth_a_signed_in_run_names_the_person(local_app) -> None:
    user = {"is_logged_in": True, "iss": "https://id.example", "sub": "u-42", "email": "bo@example.com", "name": "Bo"}
    at = run_app("0.0.0.0", secrets=AUTH, user=user)
    assert not at.exception
    assert at.text_input(key="topic") is not None
    assert "Signed in as **Bo**" in sidebar_texts(at)
    assert auth.OPEN_ADDRESS_WARNING not in sidebar_texts(at)
    assert [b.label for b in at.sidebar.button] == [auth.SIGN_OUT]
