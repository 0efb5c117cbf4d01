"""This process's share of the provider queue: a slot one step of a local job frees goes to the next one in memory.

When the provider limit is deployment-wide (see :func:`research.jobs.engine.deployment_wide`), a model
request holds one of the provider queue's slots: DBOS counts a slot as held while a queued step workflow
runs. Started here, such a workflow does not end with its own step. While nobody waits in the queue, it
*lends* its slot to this process's next waiting step of the same person (by rank, then arrival); with none
waiting, it keeps the slot for a step that is still to come (its jobs say how many model steps they have
left: a section comes once its agent's outcome is recorded). The lent step runs at once, with no database
poll between. So a batch's sixth company starts the moment one of the first five ends, a section the
moment its agent ends, and the queue still decides between processes and between people: a lender gives
its slot back as soon as anything waits in the queue. Another person's step this process has enqueued is
known at once; anything else in the queue, within :data:`LOOK_EVERY` seconds of a look.

A step takes an idle lender's slot if there is one; else it enqueues a workflow of its own, as long as
this process has fewer than ``per_owner`` queue entries for that person (enqueued, running, or lending);
else it waits here for either. Lending is off under a rate limit, where the queue counts every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum

from research.jobs.slots import Waiter

LOOK_EVERY = 0.05
"""Seconds between two looks at the provider queue while a slot is lent: how late a lender may notice that a step
of another process, or of a person at their share, waits there."""


class TurnKind(Enum):
    """How a step waiting for a slot of the provider queue gets to run."""

    LENT = "lent"
    """In this process, at once, in the slot of a queued workflow whose own step has ended."""
    QUEUED = "queued"
    """As a workflow of its own in the provider queue (run by whichever process dequeues it)."""


@dataclass
class Turn:
    """A step's turn: lent a slot here (call :meth:`finish` when it ends) or to be queued."""

    kind: TurnKind
    _lent: asyncio.Future[None] | None = None

    def finish(self) -> None:
        """The lent step has ended: its lender may lend the slot again or give it back to the queue."""
        if self._lent is not None and not self._lent.done():
            self._lent.set_result(None)


class QueueShare:
    """The queue entries this process holds per person, its idle lenders and its waiting steps (one event loop).

    ``queue_waits`` says whether anything waits in the provider queue; while a lender lends, it is asked every
    ``look_every`` seconds in the background, so no lent step waits for a database read.
    """

    def __init__(self, per_owner: int, queue_waits: Callable[[], Awaitable[bool]] | None = None,
                 look_every: float = LOOK_EVERY) -> None:
        self.per_owner = max(1, per_owner)
        self.queue_waits, self.look_every = queue_waits, look_every
        self.others_wait = False
        """What :attr:`queue_waits` said last: True stops every lender after its lent step."""
        self._lending = 0
        self._looking: asyncio.Task[None] | None = None
        self.held: Counter[str] = Counter()
        """By owner: this process's queue entries (a step's workflow enqueued or running, or a lender)."""
        self.in_queue: Counter[str] = Counter()
        """By owner: the entries whose workflow waits in the queue (enqueued by this process, not yet begun here)."""
        self.closed = False
        self._waiting: list[Waiter[Turn]] = []
        self._idle: dict[str, list[asyncio.Future[asyncio.Future[None] | None]]] = defaultdict(list)
        self._arrival = itertools.count()
        self._to_come: dict[str, tuple[str, int]] = {}
        """By job id: its owner, and how many of its model steps have yet to ask for a turn."""

    def expect(self, job: str, owner: str, steps: int) -> None:
        """Job ``job`` of ``owner`` will ask for up to ``steps`` turns: idle lenders of the owner wait for them."""
        self._to_come[job] = (owner, steps)

    def forget(self, job: str) -> None:
        """Job ``job`` has ended: the turns it did not ask for will not come."""
        owner, _ = self._to_come.pop(job, ("", 0))
        self._trim(owner)

    def _coming(self, owner: str) -> int:
        return sum(steps for who, steps in self._to_come.values() if who == owner)

    def _trim(self, owner: str | None) -> None:
        """End ``owner``'s idle lenders beyond their steps still to come; with ``owner`` None, every idle lender."""
        for who, idle in list(self._idle.items()):
            if owner is None or who == owner:
                for lender in idle[self._coming(who) if owner is not None else 0:]:
                    if not lender.done():
                        lender.set_result(None)

    @property
    def waiting(self) -> int:
        """Steps waiting here for a slot."""
        return sum(1 for waiter in self._waiting if not waiter.future.done())

    async def turn(self, owner: str, rank: int, on_wait: Callable[[], None] | None = None, job: str = "") -> Turn:
        """Wait for ``owner``'s step of ``rank`` (of ``job``) to get its turn; ``on_wait()`` is called first when it
        must wait.

        A :data:`TurnKind.QUEUED` turn holds one of the owner's entries until :meth:`give_back`.
        """
        if job in self._to_come:
            who, steps = self._to_come[job]
            self._to_come[job] = (who, max(0, steps - 1))
        idle = self._idle.get(owner)
        while idle:
            lender = idle.pop(0)
            if not lender.done():
                lent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                lender.set_result(lent)
                return Turn(TurnKind.LENT, lent)
        if self.held[owner] < self.per_owner and not self._first(owner):
            return self._enqueue(owner)
        if on_wait is not None:
            on_wait()
        waiter = Waiter[Turn](rank, next(self._arrival), owner, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        try:
            return await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():  # its turn came just as the wait was cancelled
                turn = waiter.future.result()
                turn.finish()
                if turn.kind is TurnKind.QUEUED:
                    self.give_back(owner, waited=True)
            raise
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)

    def _enqueue(self, owner: str) -> Turn:
        """A turn to enqueue a workflow: one more of ``owner``'s entries, waiting in the queue, so that other people's
        lenders give their slots back to the queue (idle ones now, busy ones when their lent step ends)."""
        self.held[owner] += 1
        self.in_queue[owner] += 1
        for who, idle in self._idle.items():
            if who != owner:
                for lender in idle:
                    if not lender.done():
                        lender.set_result(None)
        return Turn(TurnKind.QUEUED)

    def began(self, owner: str) -> None:
        """One of ``owner``'s enqueued workflows has begun here: it no longer waits in the queue."""
        self._leave_queue(owner)

    def _leave_queue(self, owner: str) -> None:
        self.in_queue[owner] -= 1
        if self.in_queue[owner] <= 0:
            del self.in_queue[owner]

    def give_back(self, owner: str, waited: bool = False) -> None:
        """One of ``owner``'s entries has ended (``waited``: without its workflow beginning here, see :meth:`began`):
        the first waiting step of theirs may enqueue its own."""
        if waited:
            self._leave_queue(owner)
        self.held[owner] -= 1
        if self.held[owner] <= 0:
            del self.held[owner]
        waiter = self._first(owner)
        if waiter is not None and self.held[owner] < self.per_owner:
            self._waiting.remove(waiter)
            waiter.future.set_result(self._enqueue(owner))

    def _others_in_queue(self, owner: str) -> bool:
        """Whether a step of someone other than ``owner`` that this process enqueued waits in the queue."""
        return any(who != owner for who in self.in_queue)

    @asynccontextmanager
    async def lending(self) -> AsyncIterator[None]:
        """Hold for the time a lender lends: while any does, the queue is looked at in the background."""
        self._lending += 1
        if self._looking is None and self.queue_waits is not None:
            # in a context of its own: started by a step workflow, its reads must not count as that workflow's steps
            self._looking = asyncio.get_running_loop().create_task(self._look(), context=contextvars.Context())
        try:
            yield
        finally:
            self._lending -= 1

    async def _look(self) -> None:
        try:
            while self._lending > 0 and not self.closed and self.queue_waits is not None:
                self.others_wait = await self.queue_waits()
                if self.others_wait:
                    self._trim(None)  # idle lenders give their slots back to the queue now
                await asyncio.sleep(self.look_every)
        finally:
            self._looking, self.others_wait = None, False

    async def lend(self, owner: str) -> bool:
        """Lend this slot to ``owner``'s first waiting step, or keep it for one still to come, and wait until that
        step ends; False when none is to come, something waits in the queue, or the process is stopping."""
        if self.closed or self.others_wait or self._others_in_queue(owner):
            return False
        waiter = self._first(owner)
        if waiter is not None:
            self._waiting.remove(waiter)
            lent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            waiter.future.set_result(Turn(TurnKind.LENT, lent))
        else:
            if len(self._idle.get(owner, ())) >= self._coming(owner):
                return False  # every step still to come has an idle lender already
            lender: asyncio.Future[asyncio.Future[None] | None] = asyncio.get_running_loop().create_future()
            self._idle[owner].append(lender)
            try:
                taken = await asyncio.shield(lender)
            finally:
                if lender in self._idle[owner]:
                    self._idle[owner].remove(lender)
                if not self._idle[owner]:
                    del self._idle[owner]
                if not lender.done():
                    lender.set_result(None)
            if taken is None:
                return False
            lent = taken
        await lent
        return True

    async def close(self) -> None:
        """The process is stopping: idle lenders end now, no lender lends again, and the queue is no longer looked at."""
        self.closed = True
        for lenders in self._idle.values():
            for lender in lenders:
                if not lender.done():
                    lender.set_result(None)
        self._idle.clear()
        if self._looking is not None:
            self._looking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._looking

    def _first(self, owner: str) -> Waiter[Turn] | None:
        """``owner``'s first waiting step, by rank and then arrival."""
        mine = [waiter for waiter in self._waiting if waiter.owner == owner and not waiter.future.done()]
        return min(mine) if mine else None
