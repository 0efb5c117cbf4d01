"""Running one structured-output agent: bounded requests, honest retries, salvage and one repair.

:func:`run_structured` streams the agent's answer through the Agents SDK. Each
request carries an output-token limit and an inactivity timeout (no bytes for
``attempt_timeout`` seconds abandons the attempt, so a slow but working local
model is not killed while a stalled one is); the SDK's runner-managed retries
(``ModelSettings.retry``) follow the executor's backoff rule and are reported
as "attempt 2 of 3". The answer is salvaged (:mod:`research.agents.salvage`);
only when required parts are still missing is the model asked once more, for
those parts alone. Tokens of every request are counted, rejected ones included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx2 as httpx
import openai
from agents import Agent, ModelRetrySettings, ModelSettings, RunConfig, Runner
from agents.exceptions import ModelBehaviorError
from agents.models.interface import Model
from agents.retry import RetryDecision, RetryPolicyContext
from pydantic import BaseModel

from research.agents.budgeted import BudgetedModel
from research.agents.quality import Filler, FillerCheck, instruction_lines, schema_texts, strip_filler, text_fields
from research.agents.salvage import NoJsonError, Salvage, extract_json, label, missing_parts_model, salvage
from research.agents.spec import AgentSpec, OutputT
from research.agents.wire import (
    OutputSupport,
    RawJsonOutput,
    json_mode_settings,
    schema_prompt,
    schema_rejected,
    schema_unsupported,
)
from research.core.budget import RunBudget
from research.core.errors import RETRYABLE_STATUSES, InvalidOutputError, ModelDeclinedError, SchemaRejectedError, status_reason
from research.core.gates import ONE_BY_ONE_NOTE, ServerGate, StreamInterrupted
from research.core.steps import StepContext

_NO_REQUEST = httpx.Request("POST", "http://model-server/")
"""The request an error raised here names (the real one is the SDK's)."""


@dataclass(frozen=True)
class Answer:
    """The text of one answer, and whether it was cut off at the output-token limit."""

    text: str
    cut_off: bool = False


def retry_reason(ctx: RetryPolicyContext, attempt_timeout: float) -> str | None:
    """Why a failed model call is worth retrying, or None when it is not."""
    err = ctx.normalized
    if schema_unsupported(ctx.error) or schema_rejected(ctx.error):
        return None  # answered by switching to JSON mode, or a bug to report: asking again cannot help
    if err.is_timeout:
        return f"no data from the model server for {attempt_timeout:g} s"
    if err.status_code is not None:
        return status_reason(err.status_code) if err.status_code in RETRYABLE_STATUSES else None
    if err.is_network_error:
        return "connection to the model server failed"
    return None


def sdk_retry_settings(task: StepContext) -> ModelRetrySettings:
    """The executor's retry limits as the SDK's runner-managed retry settings."""

    def policy(ctx: RetryPolicyContext) -> bool | RetryDecision:
        reason = retry_reason(ctx, task.limits.attempt_timeout)
        if reason is None or task.attempt >= task.limits.max_attempts:
            return False
        delay = task.limits.backoff_delay(task.attempt, ctx.normalized.retry_after)
        task.report_retry(task.attempt + 1, reason, delay)
        return RetryDecision(retry=True, delay=delay, reason=reason)

    return ModelRetrySettings(max_retries=task.limits.max_retries, policy=policy)


def _settings(task: StepContext, max_tokens: int) -> ModelSettings:
    timeout = task.limits.attempt_timeout
    return ModelSettings(
        max_tokens=max_tokens,
        retry=sdk_retry_settings(task),
        include_usage=True,  # streamed Chat Completions report tokens only when asked
        # An inactivity timeout: a read that waits longer than this for the next bytes fails.
        extra_args={"timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0))},
    )


def _is_cut_off(error: ModelBehaviorError) -> bool:
    return "max_output_tokens" in str(error) or "incomplete" in str(error)


async def _stream(agent: Agent[None], message: str, config: RunConfig, task: StepContext, max_tokens: int,
                  gate: ServerGate | None) -> Answer:
    """One request with its retries, streamed, each attempt when the server's gate lets it through.

    The SDK retries failures before any text arrived; a stream that stalls or
    drops after sending text is retried here (its partial text is discarded),
    and so is a stream the server ended without finishing it: that is no
    answer, so it never costs the repair request. When such an interruption
    happens while other requests were in flight, the server serves one at a
    time, and the gate sends requests one by one from then on.
    """
    task.begin_request()
    while True:
        try:
            if gate is None:
                return await _stream_attempt(agent, message, config, task, max_tokens)
            async with gate.turn():
                return await _stream_attempt(agent, message, config, task, max_tokens)
        except StreamInterrupted as exc:
            if gate is not None and gate.interrupted():
                task.report_note(ONE_BY_ONE_NOTE)
            if task.attempt >= task.limits.max_attempts:
                raise openai.APIConnectionError(message=str(exc), request=_NO_REQUEST) from None
            reason = str(exc)
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            if not task.streamed_text or task.attempt >= task.limits.max_attempts:
                raise
            timed_out = isinstance(exc, openai.APITimeoutError)
            reason = (f"no data from the model server for {task.limits.attempt_timeout:g} s" if timed_out
                      else "connection to the model server failed")
        delay = task.limits.backoff_delay(task.attempt)
        task.report_retry(task.attempt + 1, reason, delay)
        await asyncio.sleep(delay)


async def _stream_attempt(agent: Agent[None], message: str, config: RunConfig, task: StepContext, max_tokens: int) -> Answer:
    """One attempt: stream the answer; the text that arrived is kept even if it was cut off."""
    streamed = Runner.run_streamed(agent, message, run_config=config)
    before = task.outcome.usage.output_tokens
    try:
        async for event in streamed.stream_events():
            data = getattr(event, "data", None)
            if getattr(data, "type", None) == "response.output_text.delta":
                task.emit_text(data.delta)
    except ModelBehaviorError as exc:
        if _is_cut_off(exc) and task.streamed_text:
            return Answer(task.streamed_text, cut_off=True)
        raise
    finally:
        task.add_usage(streamed.context_wrapper.usage)
    at_limit = task.outcome.usage.output_tokens - before >= max_tokens
    return Answer(str(streamed.final_output or task.streamed_text), cut_off=at_limit)


@cache
def agent_for(spec: AgentSpec[Any], output_type: type[BaseModel], json_mode: bool) -> Agent[None]:
    """One SDK agent per spec and answer shape; each run brings its model and settings in its ``RunConfig``."""
    if json_mode:
        return Agent(name=spec.key, instructions=spec.system_prompt + schema_prompt(output_type))
    return Agent(name=spec.key, instructions=spec.system_prompt, output_type=RawJsonOutput(output_type))


async def _ask(spec: AgentSpec[OutputT], output_type: type[BaseModel], model: Model, message: str, task: StepContext,
               support: OutputSupport, tracing: bool, max_tokens: int, gate: ServerGate | None) -> Answer:
    """Ask for ``output_type`` with strict structured output, or in JSON mode where the server needs it."""
    settings = _settings(task, max_tokens)
    raw = model.model if isinstance(model, BudgetedModel) else model  # what the API's JSON mode depends on
    if support.json_schema:
        config = RunConfig(model=model, model_settings=settings, tracing_disabled=not tracing)
        try:
            return await _stream(agent_for(spec, output_type, False), message, config, task, max_tokens, gate)
        except openai.APIStatusError as exc:
            if schema_rejected(exc):
                raise SchemaRejectedError(exc.status_code) from None
            if not schema_unsupported(exc):
                raise
            support.json_schema = False
            task.discard_request()  # refused before any answer: the switch is not an attempt
            task.report_note("the model server does not accept JSON schemas; using JSON mode")
    config = RunConfig(model=model, model_settings=settings.resolve(json_mode_settings(raw, output_type)),
                       tracing_disabled=not tracing)
    return await _stream(agent_for(spec, output_type, True), message, config, task, max_tokens, gate)


def read_answer(output_type: type[OutputT], answer: Answer, check: FillerCheck) -> tuple[Salvage[OutputT], Filler]:
    """Salvage an answer, its filler left out first; an answer that reads like a refusal raises
    :class:`ModelDeclinedError`, and one that is nothing but filler is no answer."""
    try:
        found = extract_json(answer.text)
    except NoJsonError as exc:
        if exc.refusal:
            raise ModelDeclinedError(exc.refusal) from None
        return Salvage(None, {}, ["answer"]), Filler(0, 0)
    data, filler = strip_filler(found.data, check, text_fields(output_type))
    if filler.everything:
        return Salvage(None, {}, ["answer"]), filler
    result = salvage(output_type, data, cut_off=answer.cut_off or found.cut_off)
    if (note := filler.note()) is not None:
        result.notes.append(note)
        if result.value is not None and hasattr(result.value, "note"):
            result.value.note(note)
    return result, filler


def filler_check(spec: AgentSpec[Any], caveats: Iterable[str] = ()) -> FillerCheck:
    """What counts as filler in ``spec``'s answers: its instructions, its schema's texts, and ``caveats``."""
    return FillerCheck([*instruction_lines(spec.system_prompt), *schema_texts(spec.output_type)], caveats)


def _labels(output_type: type[BaseModel], missing: list[str]) -> str:
    return ", ".join(label(output_type, name) for name in missing)


async def run_structured(
    spec: AgentSpec[OutputT],
    model: Model,
    message: str,
    task: StepContext,
    *,
    tracing: bool = False,
    support: OutputSupport | None = None,
    max_output_tokens: int | None = None,
    gate: ServerGate | None = None,
    caveats: Iterable[str] = (),
    budget: RunBudget | None = None,
) -> OutputT:
    """Run ``spec`` on ``message`` and return its salvaged, validated output.

    ``support`` remembers for the whole run whether the server accepts JSON
    schemas; ``max_output_tokens`` replaces the spec's own output budget;
    ``gate`` is the server's (see :mod:`research.core.gates`); ``caveats`` are the
    app's data notes the request carries, which a written answer must not repeat; ``budget``, when it
    limits the run, holds every request (:class:`~research.core.budget.BudgetReached` when one does not fit).
    Raises :class:`InvalidOutputError` when required parts are still missing
    after one repair request, and :class:`ModelDeclinedError` for a refusal.
    """
    support = support if support is not None else OutputSupport()
    max_tokens = max_output_tokens or spec.max_output_tokens
    if budget is not None and budget.limited:
        model = BudgetedModel(model, budget)
    check = filler_check(spec, caveats)
    first, first_filler = read_answer(spec.output_type, await _ask(spec, spec.output_type, model, message, task, support,
                                                             tracing, max_tokens, gate), check)
    if first.value is not None:
        return first.value
    whole = "answer" in first.missing
    wanted = spec.output_type if whole else missing_parts_model(spec.output_type, first.missing)
    task.report_note("the answer was not usable; asking the model again" if whole else
                     f"asking the model again for: {_labels(spec.output_type, first.missing)}")
    repair = (f"{message}\n\nYour previous answer could not be used. Answer again with one JSON object that "
              "follows the schema." if whole else
              f"{message}\n\nYour previous answer lacked usable values for: {', '.join(first.missing)}. "
              "Answer with one JSON object holding only these fields.")
    second, second_filler = read_answer(wanted, await _ask(spec, wanted, model, repair, task, support, tracing, max_tokens,
                                                     gate), check)
    merged = second if whole else salvage(spec.output_type, {**first.data, **second.data})
    if merged.value is not None:
        earlier = [] if whole else [n for n in first.notes + second.notes if n not in merged.value.notes]
        merged.value.notes[:0] = list(dict.fromkeys(earlier))
        return merged.value
    required = {name for name, info in spec.output_type.model_fields.items() if info.is_required()}
    if first_filler.everything and (second_filler.everything or second_filler.removed):
        raise InvalidOutputError("the model's answers repeated the instructions or held only punctuation, "
                                 "even after being asked again")
    if "answer" in merged.missing or required <= set(merged.missing):
        raise InvalidOutputError("the model gave no usable answer, even after being asked again")
    raise InvalidOutputError(f"the model's answer had no usable {_labels(spec.output_type, merged.missing)}, "
                             "even after being asked again")
