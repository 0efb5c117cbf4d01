"""Two people, Alice and Bob, in Chromium: whose reports are whose (sign-in against the mock OpenID Connect
provider on 127.0.0.1, each person in a browser context of their own, the app against the stub server).

- Without sharing: Alice's report is not in Bob's History, her job link tells him "There is no report at
  this link" and offers him nothing to delete; an anonymous visitor following it gets only the sign-in
  page. Alice sees it in her History, deletes it (select, *Delete*, confirm) and it is gone.
- ``RESEARCH_SHARED_HISTORY=1`` (the same app restarted): Bob's History lists Alice's report and he can
  open it, read-only: a *By* column and the page name her; no *Run again*, *Delete* or *Watch*; on her
  running job no *Cancel*, and it says whose it is.
- ``RESEARCH_ADMINS=<Bob's e-mail>``: Bob sees Alice's report in History and deletes it.

One app (one data folder, one port: the redirect URI names it) is restarted with each test's settings;
Alice and Bob sign in once (their sign-in cookies outlive the restarts) and reload `/` after each.
Screenshots: ``artifacts/screenshots/people-*.png``; the server's output: ``artifacts/browser-tests/people.log``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from browser import (
    ARTIFACTS,
    GRID_ROWS,
    StreamlitApp,
    click_grid_row,
    exceptions,
    generate_button,
    grid_canvas,
    grid_texts,
    heading,
    job_id_of,
    log_size,
    require_chromium,
    screenshot,
    server_errors,
    topic_box,
)
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from stub import Plan, agent_of, serve

from tests.support.browser_harness import free_port
from tests.support.oidc import Provider, serve_provider, write_secrets
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from ui import auth

WAIT = 20_000  # ms: an upper bound for one UI wait (a stub run takes a second or two)
LOG = ARTIFACTS / "browser-tests" / "people.log"
VIEWPORT = {"width": 1280, "height": 800}
ALICE = {"email": "alice@example.com", "name": "Alice Example"}
BOB = {"email": "bob@example.com", "name": "Bob Example"}
PEOPLE = {"alice": ALICE, "bob": BOB}
HANGING = "Hanging research of Alice"
"""The research agents' requests about this topic never answer (a job that keeps running until cancelled)."""
NO_REPORT = "There is no report at this link. It may have been deleted — see History."
READ_ONLY = f"Started by {ALICE['name']}: read-only."
"""What Bob's page says on a job of Alice's in a shared history."""
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
"""The app once its script run has ended (everything it draws is drawn)."""
PLAIN: dict[str, str] = {}
SHARED = {"RESEARCH_SHARED_HISTORY": "1"}
ADMIN = {"RESEARCH_ADMINS": BOB["email"]}
log_start = {"at": 0}


@pytest.fixture(scope="module")
def stub() -> Iterator[StubOpenAIServer]:
    with serve(Plan()) as server:
        planned = server.responder

        def respond(request: StubRequest) -> Reply:
            if HANGING in request.user_text and agent_of(request) in ("market", "competitor", "customer"):
                return Reply(hang=True)  # until the run is cancelled (the client disconnects)
            return planned(request)

        server.responder = respond
        yield server


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with serve_provider(PEOPLE) as running:
        yield running


@pytest.fixture(scope="module")
def app(stub, provider, tmp_path_factory) -> Iterator[StreamlitApp]:
    require_chromium()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.unlink(missing_ok=True)
    port = free_port()  # known before the start: the redirect URI names it
    secrets_file = write_secrets(tmp_path_factory.mktemp("people-secrets"), provider, port)
    with StreamlitApp(stub.base_url, tmp_path_factory.mktemp("people-data"), port=port, log_path=LOG,
                      secrets_file=secrets_file, extra_env=PLAIN) as server:
        yield server


def new_context(browser: Browser) -> BrowserContext:
    """A fresh browser context: no sign-in cookie."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT)
    return context


@pytest.fixture(scope="module")
def people(browser, app) -> Iterator[dict[str, Page]]:
    """Alice's and Bob's pages, each in a browser context of their own, signed in once for the module: the
    sign-in cookie outlives the app's restarts (the same secrets, so the same cookie secret)."""
    contexts = [new_context(browser) for _ in PEOPLE]
    pages = {subject: context.new_page() for subject, context in zip(PEOPLE, contexts, strict=True)}
    for subject, page in pages.items():  # both at once: each page loads while the other signs in
        page.goto(app.url + "/")
        page.get_by_role("button", name=auth.SIGN_IN, exact=True).click()
        page.get_by_placeholder("sub").fill(subject)
        page.get_by_role("button", name="Authorize").click()
    for subject, page in pages.items():
        expect_signed_in(page, subject)
    yield pages
    for context in contexts:
        context.close()


def expect_signed_in(page: Page, subject: str) -> None:
    """The Research page, with ``subject`` named in the sidebar as signed in."""
    expect(topic_box(page)).to_be_visible()
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text(f"Signed in as {PEOPLE[subject]['name']}")).to_be_visible()
    no_errors(page)


@pytest.fixture
def configure(app, people) -> Iterator[Callable[[dict[str, str]], None]]:
    """Run the app with the given settings (sharing, admins): restart it, on the same port and data, if it runs
    with others; then each person opens `/` afresh, still signed in. The test's part of the log has no error."""
    log_start["at"] = log_size(LOG)

    def run_with(env: dict[str, str]) -> None:
        if app.extra_env != env:
            app.extra_env = dict(env)
            app.restart()
        for page in people.values():
            page.goto(app.url + "/", wait_until="commit")
        for subject, page in people.items():
            expect_signed_in(page, subject)

    yield run_with
    errors = server_errors(LOG, log_start["at"])
    assert not errors, f"the app raised (see {LOG}): {errors}"


def no_errors(page: Page) -> None:
    expect(exceptions(page)).to_have_count(0)
    expect(page.get_by_text("Page not found")).to_have_count(0)


def generate(page: Page, topic: str) -> str:
    """Research ``topic`` from the Research page and wait for its report; its job id."""
    topic_box(page).fill(topic)
    generate_button(page).click()
    expect(heading(page, topic).or_(exceptions(page)).first).to_be_visible()
    no_errors(page)
    expect(page.get_by_text(re.compile(r"^Report ready in \d"))).to_be_visible()
    return job_id_of(page)


def open_history(page: Page, app: StreamlitApp) -> None:
    """Open History as a person does, from the sidebar (from History itself: load it afresh)."""
    if page.url.startswith(app.url + "/history"):
        page.goto(app.url + "/history")
    else:
        page.locator('[data-testid="stSidebar"]').get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_role("heading", name="History", exact=True)).to_be_visible()
    expect(page.locator(IDLE)).to_have_count(1)
    no_errors(page)


def history_titles(page: Page, app: StreamlitApp) -> list[str]:
    """The reports the person's History lists (none: it says "No saved reports yet.")."""
    open_history(page, app)
    table, empty = grid_canvas(page), page.get_by_text("No saved reports yet.")
    expect(table.or_(empty).first).to_be_visible()
    if empty.count():
        return []
    expect(page.locator(GRID_ROWS).first).to_be_attached()  # the table has drawn its rows
    return [cells[0] for cells in grid_texts(page)]


def open_link(page: Page, app: StreamlitApp, job_id: str) -> None:
    page.goto(f"{app.url}/?job={job_id}")
    expect(page.locator(IDLE)).to_have_count(1)
    expect(page.get_by_role("heading", name="Model provider")).to_be_visible()  # the app's sidebar: signed in
    no_errors(page)


def button(page: Page, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def expect_no_changes_offered(page: Page) -> None:
    """Nothing on the page changes the job: no Run again, Retry, Delete, Cancel or Watch."""
    for name in ("Run again", "Delete", "Delete report", "Cancel", "Watch"):
        expect(button(page, name)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile(r"^Retry failed parts"))).to_have_count(0)


def delete_selected(page: Page, topic: str) -> None:
    """In History, with ``topic``'s row selected: *Delete*, answer the question, and see it said done."""
    button(page, "Delete").click()
    expect(page.get_by_text(re.compile(rf"Delete “{re.escape(topic)}” \(.+\)\?$"))).to_be_visible()
    button(page, "Delete report").click()
    expect(page.get_by_text(re.compile(rf"Deleted “{re.escape(topic)}”"))).to_be_visible()  # the toast
    no_errors(page)


def test_without_sharing_each_person_sees_and_deletes_only_their_own_reports(app, browser, people, configure) -> None:
    configure(PLAIN)
    alice, bob = people["alice"], people["bob"]
    alices = "Kombucha in Lisbon"
    job_id = generate(alice, alices)
    screenshot(alice, "people-alice-report")

    bobs = "Bike repair in Oslo"
    generate(bob, bobs)
    assert history_titles(bob, app) == [bobs], "Bob's History lists his report only"
    screenshot(bob, "people-bob-history")
    click_grid_row(bob, bobs)  # his own row: he could delete it (Alice's is not there to select)
    expect(button(bob, "Delete")).to_be_visible()

    open_link(bob, app, job_id)  # Alice's job link
    expect(bob.get_by_text(NO_REPORT)).to_be_visible()
    expect(heading(bob, alices)).to_have_count(0)
    expect(bob.get_by_text(alices)).to_have_count(0)
    expect_no_changes_offered(bob)
    expect(bob.get_by_role("button", name="Download")).to_have_count(0)
    screenshot(bob, "people-bob-alices-link")

    anonymous = new_context(browser).new_page()  # not signed in: the link gives only the sign-in page
    anonymous.goto(f"{app.url}/?job={job_id}")
    expect(anonymous.get_by_role("button", name=auth.SIGN_IN, exact=True)).to_be_visible()
    expect(anonymous.locator(IDLE)).to_have_count(1)
    for absent in (heading(anonymous, alices), anonymous.get_by_text(alices), anonymous.get_by_text(NO_REPORT),
                   topic_box(anonymous), generate_button(anonymous)):
        expect(absent).to_have_count(0)
    screenshot(anonymous, "people-anonymous-alices-link")
    anonymous.context.close()

    assert history_titles(alice, app) == [alices], "Alice's History lists her report only"
    click_grid_row(alice, alices)
    expect(button(alice, "Run again")).to_be_visible()
    screenshot(alice, "people-alice-history-selected")
    delete_selected(alice, alices)
    expect(alice.get_by_text("No saved reports yet.")).to_be_visible()
    screenshot(alice, "people-alice-deleted")
    open_link(alice, app, job_id)
    expect(alice.get_by_text(NO_REPORT)).to_be_visible()
    assert history_titles(bob, app) == [bobs], "Bob's report is untouched"


def test_a_shared_history_shows_bob_alices_reports_read_only(app, people, configure) -> None:
    configure(PLAIN)
    alice, bob = people["alice"], people["bob"]
    alices = "Sauna tourism in Finland"
    job_id = generate(alice, alices)

    configure(SHARED)  # the app restarted with a shared history: the report is still Alice's
    assert alices in history_titles(bob, app)
    by = {cells[0]: cells[2] for cells in grid_texts(bob)}  # Report, Preview, By, …
    assert by[alices] == ALICE["name"], "the By column names whose report it is"
    assert all(whose == "you" for topic, whose in by.items() if topic != alices), "Bob's own reports are his"
    click_grid_row(bob, alices)
    expect(bob.get_by_text(f"by {ALICE['name']}")).to_be_visible()  # the selected row's caption
    expect(bob.get_by_role("link", name="Open")).to_be_visible()
    expect(bob.get_by_role("button", name="Download", exact=True)).to_be_visible()  # reading includes downloading
    expect_no_changes_offered(bob)
    screenshot(bob, "people-shared-bob-history")

    bob.get_by_role("link", name="Open").click()
    expect(heading(bob, alices)).to_be_visible()
    assert job_id_of(bob) == job_id
    expect(bob.get_by_text(READ_ONLY)).to_be_visible()
    expect(bob.get_by_role("button", name="Download", exact=True)).to_be_visible()
    expect_no_changes_offered(bob)
    no_errors(bob)
    screenshot(bob, "people-shared-bob-opens-alices")

    # A job of Alice's still running: Bob can watch it run, not cancel it.
    topic_box(alice).fill(HANGING)  # her page is on `/` since the restart
    generate_button(alice).click()
    expect(alice.get_by_role("button", name="Cancel")).to_be_visible()
    running = job_id_of(alice)
    bob.goto(f"{app.url}/?job={running}")
    expect(bob.get_by_text(f"Researching “{HANGING}”…")).to_be_visible()
    expect(bob.locator(".st-key-agent-market")).to_be_visible()
    expect(bob.get_by_text(READ_ONLY)).to_be_visible()  # said while it runs too
    expect_no_changes_offered(bob)
    no_errors(bob)
    screenshot(bob, "people-shared-bob-alices-running")
    alice.get_by_role("button", name="Cancel").click()
    expect(alice.get_by_text("Cancelled — nothing had finished.")).to_be_visible()
    expect(bob.get_by_text("Cancelled — nothing had finished.")).to_be_visible()  # his page follows the job
    expect_no_changes_offered(bob)


def test_an_admin_sees_alices_report_and_deletes_it(app, people, configure) -> None:
    configure(ADMIN)
    alice, bob = people["alice"], people["bob"]
    alices = "Vinyl records in Berlin"
    job_id = generate(alice, alices)

    assert alices in history_titles(bob, app)
    click_grid_row(bob, alices)
    expect(bob.get_by_role("link", name="Open")).to_be_visible()
    expect(button(bob, "Run again")).to_have_count(0)  # an admin deletes; changing it stays Alice's
    screenshot(bob, "people-admin-bob-history")
    delete_selected(bob, alices)
    screenshot(bob, "people-admin-bob-deleted")
    assert alices not in history_titles(bob, app)

    assert alices not in history_titles(alice, app)
    open_link(alice, app, job_id)
    expect(alice.get_by_text(NO_REPORT)).to_be_visible()
    screenshot(alice, "people-admin-alice-link-gone")
