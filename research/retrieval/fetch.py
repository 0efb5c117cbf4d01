"""Fetch web pages for research agents: guarded against SSRF, bounded in time and size, cached per fetcher.

A :class:`PageFetcher` turns URLs into :class:`~research.retrieval.types.Page` objects and never
raises for a bad page: the page's ``error`` says why, in plain words ("not found (HTTP 404)",
"timed out after 10 s", "refused: 10.0.0.1 is a private address", "too large (over 2 MB)", "not a web
page or PDF (image/png)", "no readable text"). The page text is untrusted data: it is extracted and
returned, never acted on. Redirects are followed here, one hop at a time (at most
:data:`MAX_REDIRECTS`), and every hop goes through the SSRF guard (see :mod:`research.retrieval.guard`
for what is refused and how connections are pinned to checked addresses). No cookies are kept and
no proxy from the environment is used.
"""

from __future__ import annotations

import asyncio
import time
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Self
from urllib.parse import urljoin

import httpx2

from research.retrieval.extract import ACCEPTED_TYPES, SNIFFED_TYPES, ExtractionError, extract, sniff
from research.retrieval.guard import Refused, Resolver, check_url, guarded_transport
from research.retrieval.types import Page

USER_AGENT = "market-research-studio/1.0 (+local)"
MAX_REDIRECTS = 5
_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8",
}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_STATUS_WORDS = {401: "access denied", 403: "access denied", 404: "not found", 410: "gone", 429: "rate limited"}


class _Failed(Exception):
    """A page that cannot be read; ``str(exc)`` is the plain-words reason."""


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g} MB"
    return f"{n / 1000:g} kB" if n >= 1000 else f"{n} bytes"


def _status_reason(status: int) -> str:
    words = _STATUS_WORDS.get(status) or ("server error" if status >= 500 else "unexpected answer")
    return f"{words} (HTTP {status})"


def _content_type(header: str) -> tuple[str, str | None]:
    """``(media type, charset)`` from a Content-Type header."""
    media_type, *params = header.split(";")
    charset = next((value.strip().strip("\"'") for key, _, value in (p.partition("=") for p in params)
                    if key.strip().lower() == "charset" and value.strip()), None)
    return media_type.strip().lower(), charset


def _cache_key(url: str) -> str:
    return url.strip().split("#", 1)[0]


class PageFetcher:
    """Fetches pages concurrently (at most ``concurrency`` at once), each URL at most once per fetcher.

    ``allow_private`` turns the SSRF guard off (for tests against a local server, or a deliberate
    intranet setup). ``timeout`` bounds connecting and each read; ``total_timeout`` (default three
    times ``timeout``) bounds one page's whole download, redirects included, so a server trickling
    bytes cannot hold a slot forever. ``resolver`` replaces the system DNS lookup (host -> IP
    strings) for the guard. A caller-supplied ``client`` is used as is and not closed here; only
    the default client pins connections to checked addresses and refuses cookies.

    Every result is cached for the fetcher's lifetime, failures included (a page that timed out is
    not tried again by this fetcher), and concurrent requests for one URL share one fetch. Use a
    fetcher within one event loop.
    """

    def __init__(self, *, allow_private: bool = False, timeout: float = 10.0, max_bytes: int = 2_000_000,
                 concurrency: int = 8, client: httpx2.AsyncClient | None = None, resolver: Resolver | None = None,
                 total_timeout: float | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.allow_private = allow_private
        self.timeout = timeout
        self.total_timeout = total_timeout if total_timeout is not None else 3 * timeout
        self.max_bytes = max_bytes
        self._resolver = resolver
        self._timeouts = httpx2.Timeout(timeout)
        self._owns_client = client is None
        self._client = client or httpx2.AsyncClient(
            transport=guarded_transport(resolver=resolver, allow_private=allow_private, max_connections=concurrency),
            follow_redirects=False, trust_env=False, timeout=self._timeouts, headers=_HEADERS,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),  # accepts no cookie from any site
        )
        self._semaphore = asyncio.Semaphore(concurrency)
        self._pages: dict[str, asyncio.Task[Page]] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop fetches still running and close the HTTP client (if this fetcher created it)."""
        pending = [task for task in self._pages.values() if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._owns_client:
            await self._client.aclose()

    async def fetch(self, url: str) -> Page:
        """The page at ``url`` (from this fetcher's cache if it was fetched before); never raises for a bad page."""
        key = _cache_key(url)
        task = self._pages.get(key)
        if task is None:
            task = self._pages[key] = asyncio.create_task(self._fetch(url))
        page = await asyncio.shield(task)  # a cancelled caller leaves the fetch running for the others
        return page.model_copy()

    async def fetch_all(self, urls: list[str]) -> list[Page]:
        """One page per distinct URL (repeats dropped, first-seen order kept), fetched concurrently."""
        unique: dict[str, str] = {}
        for url in urls:
            unique.setdefault(_cache_key(url), url)
        return list(await asyncio.gather(*(self.fetch(url) for url in unique.values())))

    async def _fetch(self, url: str) -> Page:
        final_url: str | None = None
        media_type = ""
        try:
            async with self._semaphore:
                try:
                    async with asyncio.timeout(self.total_timeout):
                        final_url, media_type, charset, body = await self._download(url)
                except TimeoutError:
                    raise _Failed(f"timed out after {self.total_timeout:g} s") from None
            retrieved_at = time.time()
            media_type = sniff(body, media_type)
            try:
                async with asyncio.timeout(self.total_timeout):
                    title, text = await asyncio.to_thread(extract, body, media_type, charset)
            except TimeoutError:
                raise _Failed("no readable text (reading it took too long)") from None
            if not text:
                raise _Failed("no readable text")
            return Page(url=url, final_url=final_url, title=title, text=text, content_type=media_type,
                        retrieved_at=retrieved_at)
        except (_Failed, Refused, ExtractionError) as exc:
            error = str(exc)
        except httpx2.TimeoutException:
            error = f"timed out after {self.timeout:g} s"
        except httpx2.ConnectError:
            error = "could not connect to the site"
        except httpx2.HTTPError:
            error = "the connection failed while reading the page"
        except Exception:  # never raise for a bad page
            error = "could not read the page"
        return Page(url=url, final_url=final_url, content_type=media_type, retrieved_at=time.time(), error=error)

    async def _download(self, url: str) -> tuple[str, str, str | None, bytes]:
        """``(final url, media type, charset, body)``, following redirects and checking every hop."""
        current = url.strip()
        for _ in range(MAX_REDIRECTS + 1):
            await check_url(current, resolver=self._resolver, allow_private=self.allow_private)
            request = self._client.build_request("GET", current, headers=_HEADERS, timeout=self._timeouts)
            response = await self._client.send(request, stream=True, follow_redirects=False)
            try:
                if response.status_code in _REDIRECT_STATUSES and response.headers.get("location"):
                    current = urljoin(str(response.url), response.headers["location"].strip())
                    continue
                if not response.is_success:
                    raise _Failed(_status_reason(response.status_code))
                media_type, charset = _content_type(response.headers.get("content-type", ""))
                if media_type not in ACCEPTED_TYPES | SNIFFED_TYPES:
                    raise _Failed(f"not a web page or PDF ({media_type})")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise _Failed(f"too large (over {_size(self.max_bytes)})")
                body = await self._read(response)
                return str(response.url), media_type, charset, body
            finally:
                await response.aclose()
        raise _Failed(f"too many redirects (over {MAX_REDIRECTS})")

    async def _read(self, response: httpx2.Response) -> bytes:
        """The decoded body, stopping as soon as it passes ``max_bytes``."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise _Failed(f"too large (over {_size(self.max_bytes)})")
            chunks.append(chunk)
        return b"".join(chunks)
