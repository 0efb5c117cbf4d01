"""A process's share of the provider queue (research/jobs/lending.py): who enqueues, who waits, who is lent a slot.

In memory, on one event loop, with no database: the steps and lenders are coroutines, and "the queue" is the
share's ``queue_waits`` answer. What the process's jobs would notice: how many steps put a workflow in the
queue, in what order waiting steps run, and that nothing runs beyond the owner's entries.
"""

from __future__ import annotations

import asyncio

import pytest

from research.jobs.lending import QueueShare, TurnKind


async def _settle() -> None:
    """Let every ready coroutine run until each waits on something outside the loop's ready queue."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_a_person_enqueues_up_to_their_entries_and_the_rest_wait_for_a_lent_slot() -> None:
    async def scenario() -> tuple[list[TurnKind], list[str], int]:
        share = QueueShare(per_owner=2)
        first, second = await share.turn("alice", 1), await share.turn("alice", 1)
        held_back: list[str] = []
        ran: list[str] = []

        async def step(name: str, rank: int) -> None:
            turn = await share.turn("alice", rank, on_wait=lambda: held_back.append(name))
            assert turn.kind is TurnKind.LENT
            ran.append(name)
            turn.finish()

        steps = [asyncio.ensure_future(step("late", 3)), asyncio.ensure_future(step("early", 2))]
        await _settle()
        assert ran == [] and share.waiting == 2  # both entries are taken: they wait in the process, not the queue
        # the first entry's own step has ended: its workflow lends the slot on, best rank first, until none waits
        while await share.lend("alice"):
            pass
        await asyncio.gather(*steps)
        return [first.kind, second.kind], ran, len(held_back)

    kinds, ran, held_back = asyncio.run(scenario())
    assert kinds == [TurnKind.QUEUED, TurnKind.QUEUED]
    assert ran == ["early", "late"]  # rank 2 before rank 3, though it asked second
    assert held_back == 2  # each card said it waits for the provider limit


def test_a_slot_waits_for_a_step_still_to_come_and_the_same_persons_next_step_takes_it() -> None:
    async def scenario() -> tuple[TurnKind, bool, bool]:
        share = QueueShare(per_owner=1)
        share.expect("report", "alice", 2)  # a job of two model steps, the second asking once the first has ended
        await share.turn("alice", 1, job="report")  # its first: alice's one entry, whose workflow lends below
        lending = asyncio.ensure_future(share.lend("alice"))
        await _settle()
        assert not lending.done()  # kept for the report's second step
        alices = await share.turn("alice", 2, job="report")  # which takes the kept slot at once
        alices.finish()
        lent = await lending
        return alices.kind, lent, await share.lend("alice")  # then nothing is to come: the slot goes back

    assert asyncio.run(scenario()) == (TurnKind.LENT, True, False)


def test_another_persons_step_enqueued_here_ends_lending_at_once_without_a_look_at_the_queue() -> None:
    async def scenario() -> tuple[bool, bool, bool, bool]:
        share = QueueShare(per_owner=2)  # no queue_waits: the share never looks at the queue
        share.expect("alices", "alice", 4)
        for _ in range(2):  # alice's two entries; their workflows begin here
            await share.turn("alice", 1, job="alices")
            share.began("alice")
        waiting = asyncio.ensure_future(share.turn("alice", 2, job="alices"))
        await _settle()
        lending = asyncio.ensure_future(share.lend("alice"))  # one workflow's own step has ended: it lends on
        lent = await waiting
        await share.turn("bob", 1)  # bob's step is enqueued while alice's lent step runs: it waits in the queue
        lent.finish()
        busy_lent = await lending  # the lent step ran to its end ...
        busy_stops = not await share.lend("alice")  # ... and its lender gives the slot back rather than lend again

        share.began("bob")  # bob's workflow has begun: nothing of this process waits in the queue now
        kept = asyncio.ensure_future(share.lend("alice"))  # alice's other workflow keeps its slot for her next step
        await _settle()
        kept_while_none_waits = not kept.done()
        await share.turn("bob", 2)  # until bob's second step is enqueued
        idle_stops = not await asyncio.wait_for(kept, 5)
        await share.close()
        return busy_lent, busy_stops, kept_while_none_waits, idle_stops

    assert asyncio.run(scenario()) == (True, True, True, True)


def test_a_job_that_ends_with_steps_it_never_asked_for_frees_the_slot_kept_for_them() -> None:
    async def scenario() -> bool:
        share = QueueShare(per_owner=1)
        share.expect("report", "alice", 3)
        await share.turn("alice", 1, job="report")
        lending = asyncio.ensure_future(share.lend("alice"))
        await _settle()
        assert not lending.done()  # kept for the report's next steps
        share.forget("report")  # its agent failed, so its section and summary never ask
        return await asyncio.wait_for(lending, 5)

    assert asyncio.run(scenario()) is False


def test_a_lender_stops_when_something_waits_in_the_queue_and_gives_its_entry_back() -> None:
    async def scenario() -> tuple[bool, TurnKind, int]:
        queue_has_others = asyncio.Event()

        async def queue_waits() -> bool:
            return queue_has_others.is_set()

        share = QueueShare(per_owner=1, queue_waits=queue_waits, look_every=0)
        share.expect("report", "alice", 5)
        await share.turn("alice", 1, job="report")
        async with share.lending():
            kept = asyncio.ensure_future(share.lend("alice"))  # kept for the report's next steps ...
            await _settle()
            queue_has_others.set()  # ... until a step of another process is enqueued
            await _settle()  # the look in the background sees it
            assert await asyncio.wait_for(kept, 5) is False
            waiting = asyncio.ensure_future(share.turn("alice", 2, job="report"))
            await _settle()
            lent = await share.lend("alice")
        assert not waiting.done()  # alice's waiting step was not lent the slot
        share.give_back("alice")  # the lender's workflow ends: the slot goes back to the queue
        turn = await waiting  # and alice's waiting step may now enqueue a workflow of its own
        await share.close()
        return lent, turn.kind, share.held["alice"]

    lent, kind, held = asyncio.run(scenario())
    assert (lent, kind, held) == (False, TurnKind.QUEUED, 1)


def test_a_cancelled_wait_hands_a_slot_it_was_just_lent_back_to_its_lender() -> None:
    async def scenario() -> bool:
        share = QueueShare(per_owner=1)
        await share.turn("alice", 1)
        waiting = asyncio.ensure_future(share.turn("alice", 2))
        await _settle()
        lending = asyncio.ensure_future(share.lend("alice"))
        await asyncio.sleep(0)  # the slot is handed to the waiting step ...
        waiting.cancel()  # ... whose job is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return await asyncio.wait_for(lending, 5)  # the lender is not left waiting for a step that never ran

    assert asyncio.run(scenario()) is True


def test_a_stopping_process_ends_idle_lenders_at_once() -> None:
    async def scenario() -> bool:
        share = QueueShare(per_owner=1)
        share.expect("report", "alice", 2)
        await share.turn("alice", 1, job="report")
        lending = asyncio.ensure_future(share.lend("alice"))
        await _settle()
        await share.close()
        return await asyncio.wait_for(lending, 5)

    assert asyncio.run(scenario()) is False
