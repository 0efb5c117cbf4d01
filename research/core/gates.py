"""How many requests go to one model server at once: any number, until the server shows it serves one at a time.

Some OpenAI-compatible servers serve one answer at a time and end a running
stream the moment another request waits (llama-cpp-python's server does, by
default). Such a stream raises :class:`StreamInterrupted` (see
:mod:`research.providers.streams`); the runner retries it, and tells the
server's :class:`ServerGate`. An interruption while other requests to that
server were in flight shows the server serves one at a time: from then on the
gate lets requests through one by one, for every run in this process, and the
choice is remembered for that server in a small JSON file in the data folder,
so the next run starts one by one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

REMEMBERED = "servers.json"
"""The file in the data folder that remembers which servers answer one request at a time."""
ONE_BY_ONE_NOTE = "the model server answers one request at a time; running requests one by one"


class StreamInterrupted(Exception):
    """The server ended an answer without saying it was finished (no finish reason, no terminal event)."""

    def __init__(self) -> None:
        super().__init__("the model server ended the answer early")


class ServerGate:
    """How many requests this process sends one model server at once: any, or one at a time."""

    def __init__(self, server: str, one_at_a_time: bool, remember: Callable[[str], None]) -> None:
        self.server = server
        self.one_at_a_time = one_at_a_time
        self.in_flight = 0
        self._remember = remember
        self._turns = asyncio.Condition()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold a place for one request (waits while the server is served one by one and busy)."""
        async with self._turns:
            await self._turns.wait_for(lambda: not self.one_at_a_time or self.in_flight == 0)
            self.in_flight += 1
        try:
            yield
        finally:
            async with self._turns:
                self.in_flight -= 1
                self._turns.notify_all()

    def interrupted(self) -> bool:
        """Record that a stream was cut short; True the first time it shows the server serves one at a time
        (another request was in flight), after which requests go one by one."""
        if self.one_at_a_time or self.in_flight < 2:
            return False
        self.one_at_a_time = True
        self._remember(self.server)
        return True


Place = tuple[Path | None, str]
"""A server as one deployment knows it: its data folder (where the choice is remembered) and its address."""


class ServerGates:
    """Every server's gate in this process (one per event loop and data folder), and the servers known to
    serve one at a time."""

    def __init__(self) -> None:
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Place, ServerGate]] = \
            weakref.WeakKeyDictionary()
        self._one_by_one: set[Place] = set()
        self._read: dict[Path, float] = {}
        """The files read, with their modification time then."""

    def gate(self, server: str, data_dir: Path | None = None) -> ServerGate:
        """The gate of ``server`` for the running loop (``data_dir``: where the choice is remembered)."""
        if data_dir is not None:
            self._load(data_dir)
        place = (data_dir, server)
        gates = self._gates.setdefault(asyncio.get_running_loop(), {})
        if place not in gates:
            gates[place] = ServerGate(server, place in self._one_by_one, lambda _server: self._learn(place))
        return gates[place]

    def _learn(self, place: Place) -> None:
        self._one_by_one.add(place)
        for gates in self._gates.values():
            if place in gates:
                gates[place].one_at_a_time = True
        data_dir, server = place
        if data_dir is None:
            return
        path = data_dir / REMEMBERED
        try:
            known = json.loads(path.read_text()) if path.exists() else {}
            known = known if isinstance(known, dict) else {}
            known[server] = {"one_at_a_time": True}
            data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(known, indent=1))
        except (OSError, ValueError) as exc:
            logger.warning("could not remember the server's one-at-a-time answers (%s)", type(exc).__name__)

    def _load(self, data_dir: Path) -> None:
        path = data_dir / REMEMBERED
        try:
            changed = path.stat().st_mtime
        except OSError:
            return
        if self._read.get(path) == changed:
            return
        self._read[path] = changed
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        if isinstance(known, dict):
            self._one_by_one |= {(data_dir, server) for server, facts in known.items()
                                 if isinstance(facts, dict) and facts.get("one_at_a_time")}


GATES = ServerGates()
"""The process's server gates."""
