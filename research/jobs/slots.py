"""The process's model-request slots: a freed slot goes at once to the waiting step that ranks first.

Used when one process owns its database (see
:func:`research.jobs.engine.deployment_wide`): every job of the process shares
``RESEARCH_MAX_CONCURRENCY`` slots. A step waits with its rank among its own
job's model requests, so jobs take turns: a new job's first request does not
wait behind the twentieth company of an earlier batch. Equal ranks go in
arrival order. With ``RESEARCH_USER_CONCURRENCY``, one person's steps hold at
most that many slots at once: a freed slot skips the steps of a person at their
share, so another person's first request does not wait behind many queued jobs.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(order=True)
class Waiter(Generic[T]):
    """A step waiting for a slot: waiters sort by rank, then arrival; ``future`` is resolved when its turn comes."""

    rank: int
    arrival: int
    owner: str = field(compare=False)
    future: asyncio.Future[T] = field(compare=False)


class ProviderSlots:
    """``capacity`` slots shared by every job of this process, at most ``per_owner`` of them held by one owner's
    steps (use on one event loop)."""

    def __init__(self, capacity: int, per_owner: int | None = None) -> None:
        self.capacity = max(1, capacity)
        self.per_owner = max(1, per_owner) if per_owner is not None else None
        self.busy = 0
        self.held: Counter[str] = Counter()
        """Slots held by each owner's steps."""
        self._waiting: list[Waiter[None]] = []
        self._arrival = itertools.count()

    @property
    def waiting(self) -> int:
        """Steps waiting for a slot."""
        return sum(1 for waiter in self._waiting if not waiter.future.done())

    def _at_share(self, owner: str) -> bool:
        return self.per_owner is not None and self.held[owner] >= self.per_owner

    @asynccontextmanager
    async def take(self, rank: int, on_wait: Callable[[], None] | None = None, owner: str = "") -> AsyncIterator[None]:
        """Hold a slot for the block (a step of ``owner``'s job); ``on_wait`` is called first when it must wait."""
        if self.busy >= self.capacity or self._at_share(owner) or self._first_eligible(peek=True) is not None:
            if on_wait is not None:
                on_wait()
            waiter = Waiter[None](rank, next(self._arrival), owner, asyncio.get_running_loop().create_future())
            heapq.heappush(self._waiting, waiter)
            try:
                await waiter.future
            except asyncio.CancelledError:
                if waiter.future.done() and not waiter.future.cancelled():
                    self._release(owner)  # the slot was handed over just as the wait was cancelled
                raise
        else:
            self.busy += 1
            self.held[owner] += 1
        try:
            yield
        finally:
            self._release(owner)

    def _first_eligible(self, *, peek: bool = False) -> Waiter[None] | None:
        """The first waiting step (by rank, then arrival) whose owner is below their share; removed unless ``peek``."""
        self._waiting = [waiter for waiter in self._waiting if not waiter.future.done()]
        heapq.heapify(self._waiting)
        for waiter in sorted(self._waiting):
            if not self._at_share(waiter.owner):
                if not peek:
                    self._waiting.remove(waiter)
                    heapq.heapify(self._waiting)
                return waiter
        return None

    def _release(self, owner: str) -> None:
        """Hand ``owner``'s slot to the first eligible waiting step, or free it."""
        self.held[owner] -= 1
        if self.held[owner] <= 0:
            del self.held[owner]
        waiter = self._first_eligible()
        if waiter is None:
            self.busy -= 1
            return
        self.held[waiter.owner] += 1
        waiter.future.set_result(None)  # the slot passes over: ``busy`` is unchanged
