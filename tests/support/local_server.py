"""What every local test server shares: a quiet threaded HTTP server served from a daemon thread.

:class:`LocalServer` binds a free port on 127.0.0.1 when started (or entered as a context
manager), serves in a background thread and stops idempotently; a subclass names its
request handler and, in :meth:`LocalServer._release`, lets go of whatever its handlers may be
waiting on. Handlers reach the owning test server as ``self.server.owner``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class QuietHTTPServer(ThreadingHTTPServer):
    """Daemon request threads, a deep accept queue, and no tracebacks printed (clients hang up on purpose)."""

    daemon_threads, block_on_close, allow_reuse_address, request_queue_size = True, False, True, 512
    owner: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay silent."""


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 and no log lines (requests may carry keys)."""

    protocol_version = "HTTP/1.1"
    server: QuietHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Never log anything."""


class LocalServer:
    """A test server on 127.0.0.1 in a daemon thread; use it with ``with`` (or start() / stop())."""

    handler: ClassVar[type[QuietHandler]]
    thread_name: ClassVar[str] = "local-test-server"
    poll_interval: ClassVar[float] = 0.05

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._httpd: QuietHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind (port 0: a free one) and serve in a background daemon thread; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._httpd = QuietHTTPServer(self._address, self.handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": self.poll_interval},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release waiting handlers, stop serving and close the socket. Idempotent."""
        self._release()
        if self._httpd is None or self._thread is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._after_close()
        self._thread.join(timeout=5)
        self._thread = None

    def _release(self) -> None:
        """Let go of whatever handlers may be waiting on (called first by :meth:`stop`)."""

    def _after_close(self) -> None:
        """Close what outlives the listening socket, e.g. open connections (called by :meth:`stop`)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://HOST:PORT`` (once started)."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"
