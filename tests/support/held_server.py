"""The OpenAI-compatible test server, holding the requests of chosen agents open until told to answer.

A test decides the moment something happens (a crash, a cancel) by holding
some agents' requests open: they hang until :attr:`HeldServer.holding` is
cleared, while every other request gets a valid answer at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from research.providers.demo_content import demo_output_for
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.responders import schema_title


class HeldServer:
    """The test server, answering every agent validly except those named in ``held`` while ``holding`` is set."""

    def __init__(self, held: set[str]) -> None:
        self.held = held
        self.holding = threading.Event()
        self.holding.set()
        self.server = StubOpenAIServer(self._respond)

    def _respond(self, request: StubRequest) -> Reply:
        title = schema_title(request)
        if title in self.held and self.holding.is_set():
            return Reply(hang=True)
        return Reply(content=demo_output_for(title, request.user_text))

    def titles(self) -> Counter[str]:
        """How many requests the server received per output schema."""
        return Counter(schema_title(r) for r in self.server.requests)


@contextmanager
def held_server(held: set[str]) -> Iterator[HeldServer]:
    """A started :class:`HeldServer`, stopped at the end."""
    held_server = HeldServer(held)
    held_server.server.start()
    try:
        yield held_server
    finally:
        held_server.server.stop()
