"""The OpenAI-compatible test server, holding the requests of chosen agents open until told to answer.

A test decides the moment something happens (a crash, a cancel) by holding
some agents' requests open: they are answered once :meth:`HeldServer.release`
is called, while every other request gets a valid answer at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from research.providers.demo_content import demo_output_for
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.responders import schema_title

HOLD_SECONDS = 120
"""The longest a request is held (a test that never releases fails instead of hanging)."""


class HeldServer:
    """The test server: every agent's request gets a valid answer, those of the agents named in ``held``
    (by output schema title) only once :meth:`release` is called, and those named in ``broken`` an HTTP 500
    until :meth:`mend` is called."""

    def __init__(self, held: set[str], broken: set[str] | None = None) -> None:
        self.held, self.broken = held, set(broken or ())
        self._released = threading.Event()
        self.server = StubOpenAIServer(self._respond)

    def release(self) -> None:
        """Answer the held requests, and every later one at once."""
        self._released.set()

    def mend(self) -> None:
        """Answer the broken agents' later requests too."""
        self.broken = set()

    def _respond(self, request: StubRequest) -> Reply:
        title = schema_title(request)
        if title in self.broken:
            return Reply(status=500)
        if title in self.held:
            self._released.wait(HOLD_SECONDS)
        return Reply(content=demo_output_for(title, request.user_text))

    def titles(self) -> Counter[str]:
        """How many requests the server received per output schema."""
        return Counter(schema_title(r) for r in self.server.requests)


@contextmanager
def held_server(held: set[str], broken: set[str] | None = None) -> Iterator[HeldServer]:
    """A started :class:`HeldServer`, stopped at the end."""
    held_server = HeldServer(held, broken)
    held_server.server.start()
    try:
        yield held_server
    finally:
        held_server.release()  # no handler thread stays blocked
        held_server.server.stop()
