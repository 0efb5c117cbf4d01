"""SSRF guard for page fetching: only public http(s) addresses, checked at every hop and pinned at connect time.

Two layers, both applied to every request (including every redirect hop):

1. :func:`check_url` runs before a request is built. It refuses other schemes, user names or
   passwords in the address, local host names (``localhost``, ``*.local``, ``*.internal``, single
   labels such as ``intranet``), and any host for which ANY resolved address is not public
   (loopback, private, link-local including the cloud metadata address 169.254.169.254, shared
   100.64/10, multicast, reserved, unspecified, 0.0.0.0/8, IPv6 site-local, and IPv6 addresses
   embedding one of those: IPv4-mapped, 6to4, NAT64). It gives the plain-words refusal.
2. :class:`GuardedBackend`, the network backend of :func:`guarded_transport`, resolves and checks
   the host again *inside the connection* and opens the TCP socket to one of the addresses it
   has just checked. So a DNS answer that changes between the check and the connection (DNS
   rebinding) can never reach a private address: the address connected to is always one that was
   checked. TLS still verifies the certificate against the host name (the connection pool passes
   the host name as SNI), and pooled connections are keyed by host name, so they too were opened
   to checked addresses.

Residual risks: with a caller-supplied ``client`` only layer 1 applies, so a rebinding DNS answer
between check and connect is possible there (a time-of-check/time-of-use gap of milliseconds);
the default client has both layers. Proxies from the environment are never used (``trust_env``
is off), since a proxy would resolve names itself. Any port is allowed: internal services are
reached through private addresses, which are refused whatever the port, and public sites on
ports such as 8080 are legitimate.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore2
import httpx2

Resolver = Callable[[str], Awaitable[list[str]]]
"""Resolves a host name to its IP addresses (as strings)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The address may not be fetched; ``str(exc)`` is the plain-words reason."""


async def system_resolver(host: str) -> list[str]:
    """The host's addresses from the operating system's resolver (``getaddrinfo``)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: IPAddress) -> bool:
    """True when the address is globally routable and unicast (and so is any IPv4 address it embeds)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(inner is not None and not is_public(inner) for inner in embedded):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
    )


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


async def check_host(host: str, *, resolver: Resolver | None = None, allow_private: bool = False) -> list[str]:
    """The host's addresses, all public; raises :class:`Refused` otherwise.

    With ``allow_private`` nothing is checked and ``[host]`` is returned (connect as usual).
    """
    if allow_private:
        return [host]
    name = host.strip().rstrip(".").lower()
    literal = _parse_ip(name)
    if literal is not None:
        if not is_public(literal):
            raise Refused(f"refused: {host} is a private address")
        return [str(literal)]
    if not name or name == "localhost" or name.endswith(_LOCAL_SUFFIXES):
        raise Refused(f"refused: {host or 'an empty host'} is a private address")
    if "." not in name:
        raise Refused(f"refused: {host} is not a public host name")
    try:
        answers = await (resolver or system_resolver)(name)
    except (OSError, ValueError):  # not found, or a name the resolver cannot encode
        answers = []
    addresses = [_parse_ip(answer) for answer in answers]
    if not addresses:
        raise Refused(f"could not find the host {host}")
    for address, answer in zip(addresses, answers):
        if address is None or not is_public(address):
            raise Refused(f"refused: {host} is a private address ({answer})")
    return [str(address) for address in addresses if address is not None]


async def check_url(url: str, *, resolver: Resolver | None = None, allow_private: bool = False) -> list[str]:
    """Check an address before it is requested; returns the host's checked addresses, raises :class:`Refused`.

    The URL is parsed with ``httpx2.URL``, the same parser the request uses, so the host checked is
    the host connected to.
    """
    try:
        parsed = httpx2.URL(url)
    except (httpx2.InvalidURL, TypeError, ValueError):
        raise Refused("refused: not a valid web address") from None
    if parsed.scheme not in ("http", "https"):
        raise Refused("refused: only http and https addresses are fetched")
    if parsed.userinfo:
        raise Refused("refused: the address contains a user name or password")
    host = parsed.raw_host.decode("ascii", "replace")
    if not host:
        raise Refused("refused: not a valid web address")
    return await check_host(host, resolver=resolver, allow_private=allow_private)


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """A network backend that connects only to addresses it has just checked (see the module docstring)."""

    def __init__(self, *, resolver: Resolver | None = None, allow_private: bool = False,
                 inner: httpcore2.AsyncNetworkBackend | None = None) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._inner = inner or httpcore2.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore2.AsyncNetworkStream:
        addresses = await check_host(host, resolver=self._resolver, allow_private=self._allow_private)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:  # try the host's next address
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore2.AsyncNetworkStream:
        raise Refused("refused: local sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(*, resolver: Resolver | None = None, allow_private: bool = False, max_connections: int = 16,
                      network_backend: httpcore2.AsyncNetworkBackend | None = None) -> httpx2.AsyncHTTPTransport:
    """An httpx2 transport whose connections go through :class:`GuardedBackend`; no proxies from the environment.

    ``network_backend`` replaces the plain TCP dialer under the guard (tests use it to reach a local
    server in place of a public address).
    """
    ssl_context = httpx2.create_ssl_context(trust_env=False)
    limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport = httpx2.AsyncHTTPTransport(verify=ssl_context, trust_env=False, limits=limits)
    # httpx2's transport has no network_backend option: swap in an equivalent pool that has one
    # (same settings as above). tests/test_fetch.py checks that connections really go through it.
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=ssl_context, max_connections=max_connections, max_keepalive_connections=max_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(resolver=resolver, allow_private=allow_private, inner=network_backend),
    )
    return transport
