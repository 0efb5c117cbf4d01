"""The graph executor: dependency order, start-as-soon-as-ready, skips, cancel, deadline, cap.

Steps are released by events the test controls, so every assertion is about the order in
which things happened, never about how long they took.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents.models.interface import Model
from agents.testing import ScriptedModel
from scripted import scripted_source, valid_answer

from research.config import Settings
from research.core.graph import Requires, Step, StepInputs, check_graph, run_graph
from research.core.limits import Limits
from research.core.steps import StatusEvent, StepContext, StepState
from research.workflows.keys import StepKey
from research.workflows.market import run_market_research

LIMITS = Limits(concurrency=5, attempt_timeout=5, max_retries=0)


class Gates:
    """One event per step: a step's work waits for its gate, then returns its key (or raises)."""

    def __init__(self, *keys: str, failing: tuple[str, ...] = ()) -> None:
        self.events = {key: asyncio.Event() for key in keys}
        self.failing = failing
        self.seen: dict[str, StepInputs] = {}

    def step(self, key: str, needs: tuple[str, ...] = (), requires: Requires = Requires.ALL) -> Step:
        async def work(inputs: StepInputs, _ctx: StepContext) -> str:
            self.seen[key] = inputs
            await self.events[key].wait()
            if key in self.failing:
                raise RuntimeError("boom")
            return key
        return Step(key, work, needs, requires)


def states(events: list[StatusEvent]) -> list[tuple[str, StepState]]:
    return [(e.key, e.state) for e in events if not e.text and e.state is not StepState.QUEUED]


async def wait_for(events: list[StatusEvent], key: str, state: StepState) -> None:
    """Let the loop run until ``key`` reached ``state`` (a bounded number of turns, no sleeping)."""
    for _ in range(1000):
        if (key, state) in states(events):
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{key} never reached {state}")


async def test_a_step_starts_as_soon_as_what_it_needs_has_finished() -> None:
    gates = Gates("a", "b", "c", "d")
    steps = [gates.step("a"), gates.step("b"), gates.step("c", ("a",)), gates.step("d", ("a", "b"))]
    events: list[StatusEvent] = []
    run = asyncio.ensure_future(run_graph(steps, limits=LIMITS, on_event=events.append))
    await wait_for(events, "b", StepState.RUNNING)
    gates.events["a"].set()
    await wait_for(events, "c", StepState.RUNNING)
    assert ("b", StepState.DONE) not in states(events), "c started while b was still running"
    assert ("d", StepState.RUNNING) not in states(events), "d waits for b"
    gates.events["b"].set()
    await wait_for(events, "d", StepState.RUNNING)
    gates.events["c"].set()
    gates.events["d"].set()
    result = await run
    assert all(o.state is StepState.DONE for o in result.outcomes.values())
    order = states(events)
    assert order.index(("a", StepState.DONE)) < order.index(("c", StepState.RUNNING)) < order.index(("b", StepState.DONE))
    assert gates.seen["d"].succeeded == {"a": "a", "b": "b"}


async def test_failures_skip_what_needs_them_and_are_named_to_what_can_do_without() -> None:
    gates = Gates("a", "b", "c", "d", "e", failing=("a",))
    for event in gates.events.values():
        event.set()
    steps = [gates.step("a"), gates.step("b"), gates.step("c", ("a",)), gates.step("d", ("a", "b"), Requires.ANY),
             gates.step("e", ("c",))]
    result = await run_graph(steps, limits=LIMITS)
    out = result.outcomes
    assert out["a"].state is StepState.FAILED and out["a"].error == "unexpected error (RuntimeError)"
    assert (out["c"].state, out["c"].error) == (StepState.SKIPPED, "not started: needs a, which did not finish")
    assert (out["e"].state, out["e"].error) == (StepState.SKIPPED, "not started: needs c, which did not finish")
    assert out["d"].state is StepState.DONE
    assert gates.seen["d"].missing == {"a": "unexpected error (RuntimeError)"}
    assert "c" not in gates.seen and "e" not in gates.seen, "skipped steps never run"


async def test_a_step_that_can_do_with_any_input_is_skipped_when_every_input_failed() -> None:
    gates = Gates("a", "b", "s", failing=("a", "b"))
    for event in gates.events.values():
        event.set()
    result = await run_graph([gates.step("a"), gates.step("b"), gates.step("s", ("a", "b"), Requires.ANY)], limits=LIMITS)
    assert (result.outcomes["s"].state, result.outcomes["s"].error) == (StepState.SKIPPED, "not started: every input failed")


async def test_cancel_mid_graph_keeps_what_finished_and_skips_what_never_started() -> None:
    gates = Gates("a", "b", "c")
    gates.events["a"].set()
    cancel = asyncio.Event()
    events: list[StatusEvent] = []
    steps = [gates.step("a"), gates.step("b"), gates.step("c", ("b",))]
    run = asyncio.ensure_future(run_graph(steps, limits=LIMITS, on_event=events.append, cancel=cancel))
    await wait_for(events, "a", StepState.DONE)
    await wait_for(events, "b", StepState.RUNNING)
    cancel.set()
    result = await run
    out = result.outcomes
    assert result.cancelled and out["a"].result == "a"
    assert (out["b"].state, out["b"].error) == (StepState.CANCELLED, "cancelled")
    assert (out["c"].state, out["c"].error) == (StepState.SKIPPED, "not started: cancelled")


async def test_the_deadline_stops_what_runs_and_skips_what_waits() -> None:
    gates = Gates("a", "b", "c")
    gates.events["a"].set()
    steps = [gates.step("a"), gates.step("b"), gates.step("c", ("b",))]
    result = await run_graph(steps, limits=LIMITS, run_timeout=0.2)
    out = result.outcomes
    assert result.timed_out and out["a"].ok
    assert (out["b"].state, out["b"].error) == (StepState.TIMED_OUT, "stopped: the run's time limit of 0.2 s was reached")
    assert (out["c"].state, out["c"].error) == (StepState.SKIPPED, "not started: the run's time limit of 0.2 s was reached")


async def test_no_more_steps_run_at_once_than_the_cap() -> None:
    active, peak, full = 0, 0, asyncio.Event()

    async def work(_inputs: StepInputs, _ctx: StepContext) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        if active == 2:
            full.set()
        await full.wait()
        await asyncio.sleep(0)
        active -= 1

    steps = [Step(f"s{i}", work) for i in range(6)]
    result = await run_graph(steps, limits=Limits(concurrency=2, attempt_timeout=5, max_retries=0))
    assert peak == 2 and all(o.ok for o in result.outcomes.values())


def test_graphs_are_checked_before_anything_runs() -> None:
    async def work(_inputs: StepInputs, _ctx: StepContext) -> None:
        return None

    with pytest.raises(ValueError, match="unique"):
        check_graph([Step("a", work), Step("a", work)])
    with pytest.raises(ValueError, match="not declared before it"):
        check_graph([Step("a", work, needs=("b",)), Step("b", work)])


class GatedModel(Model):
    """An SDK test double that answers like its ScriptedModel once its gate opens."""

    def __init__(self, inner: ScriptedModel, gate: asyncio.Event) -> None:
        self.inner, self.gate = inner, gate

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        await self.gate.wait()
        return await self.inner.get_response(*args, **kwargs)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        await self.gate.wait()
        async for event in self.inner.stream_response(*args, **kwargs):
            yield event


async def test_a_section_is_written_while_slower_research_still_runs() -> None:
    source, models = scripted_source()
    customer_gate = asyncio.Event()
    source.models["customer"] = GatedModel(models["customer"], customer_gate)
    source.models["section"] = ScriptedModel([valid_answer("section") for _ in range(3)])
    events: list[StatusEvent] = []

    def record(event: StatusEvent) -> None:
        events.append(event)
        if (event.key, event.state) == (StepKey.section("market"), StepState.DONE):
            customer_gate.set()  # the customer agent lands only after the market section is written

    result = await run_market_research("plant-based dairy", Settings(demo=False, api_key="k"), models=source,
                                       limits=LIMITS, on_event=record)
    assert result.status.value == "complete"
    order = states(events)
    section, customer = StepKey.section("market"), StepKey.agent("customer")
    assert order.index((section, StepState.DONE)) < order.index((customer, StepState.DONE))
    assert order.index((customer, StepState.DONE)) < order.index((StepKey.SUMMARY, StepState.RUNNING))


async def test_retries_notes_and_streamed_text_are_published_and_counted() -> None:
    events: list[StatusEvent] = []

    async def work(_inputs: StepInputs, ctx: StepContext) -> str:
        ctx.begin_request()
        ctx.report_retry(2, "rate limited (HTTP 429)", 1.5)
        ctx.emit_text("Hello")
        ctx.report_note("asking the model again for: growth rate")
        ctx.begin_request()
        ctx.add_usage(type("U", (), {"requests": 3, "input_tokens": 10, "output_tokens": 5})())
        return "ok"

    result = await run_graph([Step("a", work)], limits=Limits(max_retries=2), on_event=events.append)
    retry = next(e for e in events if e.state is StepState.RETRYING)
    assert (retry.attempt, retry.max_attempts, retry.message) == (2, 3, "rate limited (HTTP 429); retrying in 1.5 s")
    assert [e.text for e in events if e.text] == ["Hello"]
    after_text = [e for e in events if not e.text][-3:]
    assert [e.state for e in after_text] == [StepState.RUNNING, StepState.RUNNING, StepState.DONE]
    assert after_text[1].message == "asking the model again for: growth rate"
    outcome = result.outcomes["a"]
    assert outcome.attempts == 3, "two attempts of the first request, one of the repair request"
    assert outcome.usage.total_tokens == 15


def test_backoff_honours_retry_after_and_grows_exponentially() -> None:
    limits = Limits(backoff_initial=1.0, backoff_max=8.0)
    for _ in range(50):
        assert 3.0 <= limits.backoff_delay(1, retry_after=3.0) <= 3.3
        assert 0.5 <= limits.backoff_delay(1) <= 1.0
        assert 2.0 <= limits.backoff_delay(3) <= 4.0
        assert 4.0 <= limits.backoff_delay(10) <= 8.0
    delays = {round(limits.backoff_delay(2), 6) for _ in range(20)}
    assert len(delays) > 1, "backoff must be jittered"
