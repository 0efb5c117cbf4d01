"""The generic fan-out executor, with plain async work functions."""

from __future__ import annotations

import asyncio

from research.core.executor import Limits, StatusEvent, TaskState, fan_out


class Recorder:
    """Collects status events and can react when a condition first holds."""

    def __init__(self) -> None:
        self.events: list[StatusEvent] = []

    def __call__(self, event: StatusEvent) -> None:
        self.events.append(event)

    def states(self, key: str) -> list[TaskState]:
        return [e.state for e in self.events if e.key == key and not e.text]


async def test_cap_is_reached_and_never_exceeded() -> None:
    in_flight = peak = 0

    async def work(item: int, ctx) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)  # simulated work, not synchronisation
        in_flight -= 1
        return item * 2

    result = await fan_out(list(range(10)), work, limits=Limits(concurrency=3))
    assert peak == 3
    assert [o.result for o in result.outcomes] == [i * 2 for i in range(10)]
    assert (result.total, result.succeeded, result.failed) == (10, 10, 0)


async def test_all_tasks_start_together_under_a_wide_cap() -> None:
    started = 0
    everyone_in = asyncio.Event()

    async def work(item: str, ctx) -> str:
        nonlocal started
        started += 1
        if started == 3:
            everyone_in.set()
        await everyone_in.wait()  # deadlocks (and the test times out) unless all 3 run at once
        return item

    result = await fan_out(["a", "b", "c"], work, limits=Limits(concurrency=3))
    assert result.succeeded == 3


async def test_a_failure_is_an_outcome_not_an_exception() -> None:
    recorder = Recorder()

    async def work(item: str, ctx) -> str:
        if item == "bad":
            raise RuntimeError("boom")
        if item == "slow":
            raise TimeoutError
        return item.upper()

    result = await fan_out(["ok", "bad", "slow"], work, limits=Limits(attempt_timeout=7), on_event=recorder)
    ok, bad, slow = result.outcomes
    assert ok.state is TaskState.DONE and ok.result == "OK"
    assert bad.state is TaskState.FAILED and bad.error == "unexpected error (RuntimeError)"
    assert slow.state is TaskState.TIMED_OUT and slow.error == "timed out after 7 s"
    assert (result.succeeded, result.failed) == (1, 2)
    assert recorder.states("ok") == [TaskState.QUEUED, TaskState.RUNNING, TaskState.DONE]
    assert recorder.states("bad") == [TaskState.QUEUED, TaskState.RUNNING, TaskState.FAILED]
    assert all(o.finished_at >= o.started_at for o in result.outcomes)


async def test_aggregate_sees_every_outcome_and_is_tracked() -> None:
    recorder = Recorder()
    seen = []

    async def work(item: str, ctx) -> str:
        if item == "b":
            raise RuntimeError
        return item

    async def aggregate(outcomes, ctx) -> str:
        seen.extend((o.key, o.ok) for o in outcomes)
        return "+".join(o.result for o in outcomes if o.ok)

    result = await fan_out(["a", "b", "c"], work, limits=Limits(), on_event=recorder, aggregate=aggregate, aggregate_key="sum")
    assert seen == [("a", True), ("b", False), ("c", True)]
    assert result.aggregate.result == "a+c"
    assert recorder.states("sum") == [TaskState.QUEUED, TaskState.RUNNING, TaskState.DONE]
    # the aggregate starts only after every task has settled
    last_task_end = max(e.at for e in recorder.events if e.key != "sum" and e.state.finished)
    first_sum_run = next(e.at for e in recorder.events if e.key == "sum" and e.state is TaskState.RUNNING)
    assert first_sum_run >= last_task_end


async def test_aggregate_is_skipped_when_every_task_fails() -> None:
    calls = 0

    async def work(item: str, ctx) -> str:
        raise RuntimeError

    async def aggregate(outcomes, ctx) -> str:
        nonlocal calls
        calls += 1
        return ""

    result = await fan_out(["a", "b"], work, limits=Limits(), aggregate=aggregate)
    assert calls == 0
    assert result.aggregate.state is TaskState.SKIPPED
    assert result.succeeded == 0


async def test_cancel_stops_running_and_queued_tasks_and_keeps_finished_ones() -> None:
    cancel = asyncio.Event()
    recorder = Recorder()
    forever = asyncio.Event()

    async def work(item: str, ctx) -> str:
        if item == "quick":
            return "done"
        await forever.wait()
        return "never"

    def on_event(event: StatusEvent) -> None:
        recorder(event)
        if event.key == "quick" and event.state is TaskState.DONE:
            cancel.set()

    result = await asyncio.wait_for(
        fan_out(["quick", "stuck", "waiting"], work, limits=Limits(concurrency=2), on_event=on_event, cancel=cancel,
                aggregate=lambda outs, ctx: asyncio.sleep(0)),
        timeout=5,
    )
    assert result.cancelled
    states = {o.key: o.state for o in result.outcomes}
    assert states == {"quick": TaskState.DONE, "stuck": TaskState.CANCELLED, "waiting": TaskState.CANCELLED}
    assert result.aggregate.state is TaskState.SKIPPED, "a step that never started is skipped, not cancelled"
    assert result.aggregate.error == "not started: cancelled"
    assert recorder.states("waiting")[-1] is TaskState.CANCELLED


async def test_retries_and_text_are_published() -> None:
    recorder = Recorder()

    async def work(item: str, ctx) -> str:
        ctx.begin_request()
        ctx.report_retry(2, "rate limited (HTTP 429)", 1.5)
        ctx.emit_text("Hello")
        ctx.add_usage(type("U", (), {"requests": 2, "input_tokens": 10, "output_tokens": 5})())
        return item

    result = await fan_out(["a"], work, limits=Limits(max_retries=2), on_event=recorder)
    retry = next(e for e in recorder.events if e.state is TaskState.RETRYING)
    assert (retry.attempt, retry.max_attempts) == (2, 3)
    assert retry.message == "rate limited (HTTP 429); retrying in 1.5 s"
    assert [e.text for e in recorder.events if e.text] == ["Hello"]
    outcome = result.outcomes[0]
    assert outcome.attempts == 2 and outcome.usage.total_tokens == 15


def test_backoff_honours_retry_after_and_grows_exponentially() -> None:
    limits = Limits(backoff_initial=1.0, backoff_max=8.0)
    for _ in range(50):
        assert 3.0 <= limits.backoff_delay(1, retry_after=3.0) <= 3.3
        assert 0.5 <= limits.backoff_delay(1) <= 1.0
        assert 2.0 <= limits.backoff_delay(3) <= 4.0
        assert 4.0 <= limits.backoff_delay(10) <= 8.0
    delays = {round(limits.backoff_delay(2), 6) for _ in range(20)}
    assert len(delays) > 1, "backoff must be jittered"
