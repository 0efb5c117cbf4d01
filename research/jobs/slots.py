"""The process's model-request slots: a freed slot goes at once to the waiting step that ranks first.

Used when one process owns its database (see
:func:`research.jobs.engine.deployment_wide`): every job of the process shares
``RESEARCH_MAX_CONCURRENCY`` slots. A step waits with its rank among its own
job's model requests, so jobs take turns: a new job's first request does not
wait behind the twentieth company of an earlier batch. Equal ranks go in
arrival order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class ProviderSlots:
    """``capacity`` slots shared by every job of this process (use on one event loop)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.busy = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()

    @property
    def waiting(self) -> int:
        """Steps waiting for a slot."""
        return sum(1 for *_, future in self._waiting if not future.done())

    @asynccontextmanager
    async def take(self, rank: int, on_wait: Callable[[], None] | None = None) -> AsyncIterator[None]:
        """Hold a slot for the block; ``on_wait`` is called first when no slot is free."""
        if self.busy >= self.capacity or self.waiting > 0:
            if on_wait is not None:
                on_wait()
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (rank, next(self._arrival), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release()  # the slot was handed over just as the wait was cancelled
                raise
        else:
            self.busy += 1
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        """Hand the slot to the first waiting step, or free it."""
        while self._waiting:
            *_, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # the slot passes over: ``busy`` is unchanged
                return
        self.busy -= 1
