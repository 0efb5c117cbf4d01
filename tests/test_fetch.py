"""PageFetcher: text extraction, plain-words failures, the SSRF guard, redirects, concurrency and caching.

Everything runs against the page server on 127.0.0.1 (tests/support/page_server.py). Tests that need
a "public" site map fake host names to public IP strings for the guard, while a test dialer under
the guard carries the connection to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

import research.retrieval.fetch as fetch_module
from research.retrieval.fetch import USER_AGENT, PageFetcher
from research.retrieval.guard import Refused, check_url, guarded_transport, is_public
from tests.support.page_server import ARTICLE_FIGURE, INJECTION, PDF_FIGURE, LoopbackDialer, PageServer

PUBLIC_IP, OTHER_PUBLIC_IP = "93.184.216.34", "93.184.216.35"


@pytest.fixture
def server() -> Iterator[PageServer]:
    with PageServer() as page_server:
        yield page_server


@pytest.fixture
async def local() -> AsyncIterator[PageFetcher]:
    """A fetcher allowed to read the loopback page server."""
    async with PageFetcher(allow_private=True, timeout=5, max_bytes=100_000) as fetcher:
        yield fetcher


def table_resolver(table: dict[str, list[str]], calls: list[str]):
    async def resolve(host: str) -> list[str]:
        calls.append(host)
        return list(table.get(host, []))
    return resolve


# --- reading pages -------------------------------------------------------------------------------

async def test_html_main_text_keeps_the_figures(server: PageServer, local: PageFetcher) -> None:
    page = await local.fetch(server.url("/article"))
    assert page.ok and page.error is None
    assert ARTICLE_FIGURE in page.text
    assert "356,000" in page.text  # tables are kept
    assert "should never run" not in page.text  # scripts are not text
    assert page.title == "Heat pumps in Europe, 2024"
    assert page.content_type == "text/html" and page.final_url == server.url("/article")
    assert server.requests[0].headers["User-Agent"] == USER_AGENT


async def test_pdf_text_is_extracted(server: PageServer, local: PageFetcher) -> None:
    page = await local.fetch(server.url("/report.pdf"))
    assert page.ok and page.content_type == "application/pdf"
    assert PDF_FIGURE in page.text and page.title == "Heat pump report"
    octet = await local.fetch(server.url("/octet"))  # a PDF served as application/octet-stream
    assert octet.ok and PDF_FIGURE in octet.text


async def test_plain_text_is_read_as_is(server: PageServer, local: PageFetcher) -> None:
    page = await local.fetch(server.url("/notes.txt"))
    assert page.ok and page.content_type == "text/plain" and ARTICLE_FIGURE in page.text


@pytest.mark.parametrize(("path", "error"), [
    ("/missing", "not found (HTTP 404)"),
    ("/image.png", "not a web page or PDF (image/png)"),
    ("/huge?bytes=3000000", "too large (over 100 kB)"),
    ("/huge-declared", "too large (over 100 kB)"),
    ("/empty", "no readable text"),
    ("/loop", "too many redirects (over 5)"),
])
async def test_bad_pages_give_a_plain_reason(server: PageServer, local: PageFetcher, path: str, error: str) -> None:
    page = await local.fetch(server.url(path))
    assert page.error == error and not page.ok and page.text == ""


async def test_slow_page_times_out(server: PageServer) -> None:
    async with PageFetcher(allow_private=True, timeout=0.2) as fetcher:
        page = await fetcher.fetch(server.url("/slow"))
    assert page.error == "timed out after 0.2 s"


async def test_whole_download_is_bounded_by_total_timeout(server: PageServer) -> None:
    async with PageFetcher(allow_private=True, timeout=30, total_timeout=0.2) as fetcher:
        page = await fetcher.fetch(server.url("/slow"))
    assert page.error == "timed out after 0.2 s"


@pytest.mark.parametrize("url", ["", "not a url", "http://", "https://[::1", "ftp://example.com/file"])
async def test_malformed_addresses_never_raise(url: str) -> None:
    async with PageFetcher() as fetcher:
        page = await fetcher.fetch(url)
    assert page.error and page.error.startswith("refused")


async def test_prompt_injection_is_returned_verbatim_as_data(server: PageServer, local: PageFetcher) -> None:
    page = await local.fetch(server.url("/injection"))
    assert page.ok and INJECTION in page.text
    assert server.paths == ["/injection"]  # nothing in the text was followed


async def test_no_cookies_are_kept(server: PageServer, local: PageFetcher) -> None:
    await local.fetch(server.url("/article"))  # answers with Set-Cookie
    await local.fetch(server.url("/notes.txt"))
    assert all("Cookie" not in seen.headers for seen in server.requests)


# --- SSRF guard ----------------------------------------------------------------------------------

REFUSED_HOSTS = ["127.0.0.1", "localhost", "10.0.0.1", "192.168.1.1", "172.16.0.1", "169.254.169.254", "[::1]",
                 "0.0.0.0", "[::ffff:127.0.0.1]", "100.64.0.1", "0x7f.1", "2130706433", "LOCALHOST.", "[::]"]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
async def test_private_addresses_are_refused_without_a_connection(server: PageServer, host: str) -> None:
    async with PageFetcher(timeout=5) as fetcher:
        page = await fetcher.fetch(f"http://{host}:{server.port}/article")
    assert page.error and page.error.startswith("refused:"), page.error
    assert server.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_allow_private_reads_the_loopback_server(server: PageServer, host: str) -> None:
    async with PageFetcher(allow_private=True, timeout=5) as fetcher:
        page = await fetcher.fetch(f"http://{host}:{server.port}/article")
    assert page.ok and ARTICLE_FIGURE in page.text


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.0.1", "169.254.169.254",
                                     "100.64.0.1", "0.1.2.3", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::",
                                     "::ffff:127.0.0.1", "::ffff:10.0.0.1", "fe80::1", "fc00::1", "fec0::1", "ff02::1",
                                     "2002:7f00:1::1", "64:ff9b::a00:1", "2001:db8::1", "198.18.0.1", "192.0.2.1"])
def test_non_public_addresses(address: str) -> None:
    import ipaddress
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [PUBLIC_IP, "8.8.8.8", "2606:4700::1111", "2002:5db8:d822::1"])
def test_public_addresses(address: str) -> None:
    import ipaddress
    assert is_public(ipaddress.ip_address(address))


async def test_check_url_refuses_when_any_resolved_address_is_private() -> None:
    calls: list[str] = []
    resolver = table_resolver({"mixed.example": [PUBLIC_IP, "10.0.0.5"], "good.example": [PUBLIC_IP, "2606:4700::1"],
                               "meta.example": ["169.254.169.254"]}, calls)
    assert await check_url("https://good.example/x", resolver=resolver) == [PUBLIC_IP, "2606:4700::1"]
    with pytest.raises(Refused, match=r"refused: mixed\.example is a private address \(10\.0\.0\.5\)"):
        await check_url("https://mixed.example/", resolver=resolver)
    with pytest.raises(Refused, match="refused"):
        await check_url("http://meta.example/latest/meta-data/", resolver=resolver)
    with pytest.raises(Refused, match="could not find the host nowhere.example"):
        await check_url("http://nowhere.example/", resolver=resolver)
    assert calls == ["good.example", "mixed.example", "meta.example", "nowhere.example"]


@pytest.mark.parametrize(("url", "reason"), [
    ("file:///etc/passwd", "only http and https"),
    ("gopher://example.com/", "only http and https"),
    ("http://user:secret@example.com/", "user name or password"),
    ("http://intranet/", "not a public host name"),
    ("http://printer.local/", "private address"),
    ("http://metadata.google.internal/", "private address"),
    ("http://app.localhost/", "private address"),
])
async def test_check_url_refuses_without_resolving(url: str, reason: str) -> None:
    calls: list[str] = []
    with pytest.raises(Refused, match=reason):
        await check_url(url, resolver=table_resolver({}, calls))
    assert calls == []


# --- redirects, through the guard with a "public" test site ---------------------------------------

@pytest.fixture
async def public_site(server: PageServer) -> AsyncIterator[tuple[PageFetcher, LoopbackDialer, list[str]]]:
    """A guarded fetcher (allow_private=False) that sees public.example and second.example as public sites.

    The guard checks the resolved public addresses and connects to them; the test dialer underneath
    carries those connections to the page server.
    """
    calls: list[str] = []
    resolver = table_resolver({"public.example": [PUBLIC_IP], "second.example": [OTHER_PUBLIC_IP],
                               "internal.example": ["10.0.0.7"]}, calls)
    dialer = LoopbackDialer(server, [PUBLIC_IP, OTHER_PUBLIC_IP])
    async with httpx2.AsyncClient(transport=guarded_transport(resolver=resolver, network_backend=dialer)) as client:
        async with PageFetcher(client=client, resolver=resolver, timeout=5) as fetcher:
            yield fetcher, dialer, calls


async def test_public_redirect_chain_is_followed(server: PageServer, public_site) -> None:
    fetcher, dialer, calls = public_site
    page = await fetcher.fetch("http://public.example/redirect?to=http://second.example/redirect?to=/article")
    assert page.ok and ARTICLE_FIGURE in page.text and page.final_url == "http://second.example/article"
    assert {"public.example", "second.example"} <= set(calls)
    assert {host for host, _ in dialer.dialed} == {PUBLIC_IP, OTHER_PUBLIC_IP}  # connected to the checked addresses


@pytest.mark.parametrize(("target", "error"), [
    ("http://127.0.0.1:{port}/article", "refused: 127.0.0.1 is a private address"),
    ("http://localhost:{port}/article", "refused: localhost is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a private address"),
    ("http://internal.example/", "refused: internal.example is a private address (10.0.0.7)"),
    ("file:///etc/passwd", "refused: only http and https addresses are fetched"),
])
async def test_redirect_from_public_to_private_is_refused(server: PageServer, public_site, target: str,
                                                          error: str) -> None:
    fetcher, _, _ = public_site
    target = target.format(port=server.port)
    page = await fetcher.fetch(f"http://public.example/redirect?to={target}")
    assert page.error == error
    assert server.paths == [f"/redirect?to={target}"]  # only the public hop was requested


async def test_dns_rebinding_is_refused_at_connect_time(server: PageServer) -> None:
    answers = [[PUBLIC_IP], ["127.0.0.1"]]  # public when checked, loopback when connecting

    async def rebinding(host: str) -> list[str]:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    dialer = LoopbackDialer(server, [PUBLIC_IP])
    async with httpx2.AsyncClient(transport=guarded_transport(resolver=rebinding, network_backend=dialer)) as client:
        async with PageFetcher(client=client, resolver=rebinding, timeout=5) as fetcher:
            page = await fetcher.fetch("http://rebind.example/article")
    assert page.error == "refused: rebind.example is a private address (127.0.0.1)"
    assert dialer.dialed == [] and server.requests == []


async def test_every_redirect_hop_is_checked(server: PageServer, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []

    async def recording_check(url: str, **kwargs) -> list[str]:
        checked.append(url)
        return await check_url(url, **kwargs)

    monkeypatch.setattr(fetch_module, "check_url", recording_check)
    last = server.url("/article")
    middle = server.url(f"/redirect?to={last}")
    first = server.url(f"/redirect?to={middle}")
    async with PageFetcher(allow_private=True, timeout=5) as fetcher:
        page = await fetcher.fetch(first)
    assert page.ok and checked == [first, middle, last]


# --- concurrency and caching ---------------------------------------------------------------------

@pytest.mark.parametrize("pool_size", [None, 20])
async def test_concurrency_cap_is_respected(server: PageServer, pool_size: int | None) -> None:
    # The server answers /held/ requests one permit at a time. Before each permit, exactly 3 must be
    # waiting and every earlier permit must have been replaced by exactly one new request: the cap
    # is reached and never exceeded, also when the HTTP client's pool (pool_size) would allow more.
    cap, total = 3, 9
    transport = guarded_transport(allow_private=True, max_connections=pool_size) if pool_size else None
    async with httpx2.AsyncClient(transport=transport) as client:
        async with PageFetcher(allow_private=True, timeout=30, concurrency=cap,
                               client=client if pool_size else None) as fetcher:
            task = asyncio.create_task(fetcher.fetch_all([server.url(f"/held/{i}") for i in range(total)]))
            for released in range(total):
                expected = (min(total, cap + released), min(cap, total - released))
                reached = await asyncio.to_thread(server.wait_until, *expected)
                assert reached, f"expected (received, in flight) = {expected}, got {len(server.requests), server.in_flight}"
                server.permit()
            pages = await task
    assert all(page.ok for page in pages), [page.error for page in pages]
    assert server.max_in_flight == cap


async def test_fetch_all_drops_repeats_and_keeps_order(server: PageServer, local: PageFetcher) -> None:
    a, b = server.url("/notes.txt"), server.url("/article")
    pages = await local.fetch_all([a, b, a, f"{a}#section", b])
    assert [page.url for page in pages] == [a, b]
    assert sorted(server.paths) == ["/article", "/notes.txt"]


async def test_cache_makes_no_second_request(server: PageServer, local: PageFetcher) -> None:
    first = await local.fetch(server.url("/article"))
    again = await local.fetch(server.url("/article"))
    together = await asyncio.gather(local.fetch(server.url("/report.pdf")), local.fetch(server.url("/report.pdf")))
    assert again == first and again.retrieved_at == first.retrieved_at
    assert together[0] == together[1]
    assert server.paths == ["/article", "/report.pdf"]
