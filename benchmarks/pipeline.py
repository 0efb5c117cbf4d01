"""Pipelined report vs one-shot synthesis, over HTTP, on the same graph executor.

``python -m benchmarks --pipeline`` starts the OpenAI-compatible test server on 127.0.0.1.
The research agents answer after 8, 10 and 12 s; every writer streams at 60 tokens/s. The
one-shot graph writes the whole report in one step after the last agent (all sections plus
the summary, as the first release did); the pipelined graph is the market workflow itself
(a section per agent as soon as it lands, the summary after the last one, in parallel).
Both are measured against their critical paths: time to the first section on screen, and
to the complete report.
"""

from __future__ import annotations

import asyncio
import json
import time

from research.agents import summary
from research.agents.section import SectionText
from research.agents.summary import ExecutiveSummary
from research.config import SearchChoice, Settings
from research.core.graph import Requires, Step, StepInputs, run_graph
from research.core.limits import Limits
from research.core.steps import StatusEvent, StepContext, StepState
from research.inputs import MarketRequest
from research.providers.demo_content import demo_output_for
from research.workflows.base import RunTools, run_tools
from research.workflows.keys import RESEARCH_AGENTS, StepKey, StepKind
from research.workflows.market import findings_message, findings_of, market_steps
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest, text_chunks
from tests.support.responders import schema_title

AGENT_SECONDS = {"MarketData": 8.0, "CompetitorReport": 10.0, "CustomerReport": 12.0}
TOKENS_PER_SECOND = 60.0
SECTION_TOKENS, SUMMARY_TOKENS = 250, 350
ONE_SHOT_TOKENS = 3 * SECTION_TOKENS + SUMMARY_TOKENS
FIRST_TOKEN = 0.5
LIMITS = Limits(concurrency=8, attempt_timeout=60, max_retries=0)
ONE_SHOT_KEY = "report:everything"
"""The one-shot writer's step (no step of the market workflow: its key is not a :class:`StepKey`)."""


def _words(tokens: int) -> str:
    return " ".join(["insight"] * int(tokens * 4 / 8))  # about four characters a token


def _streamed(content: str, tokens: int) -> Reply:
    seconds = tokens / TOKENS_PER_SECOND
    return Reply(content=content, delay=FIRST_TOKEN, chunk_delay=seconds / len(text_chunks(content)), output_tokens=tokens)


def respond(request: StubRequest) -> Reply:
    """Research after its latency; writers stream at 60 tokens/s; the one-shot writer writes everything."""
    title = schema_title(request)
    if title in AGENT_SECONDS:
        return Reply(content=demo_output_for(title, request.user_text), delay=AGENT_SECONDS[title])
    if title == "SectionText":
        return _streamed(SectionText(prose=_words(SECTION_TOKENS)).model_dump_json(exclude={"notes"}), SECTION_TOKENS)
    one_shot = '"one_shot": true' in request.user_text
    tokens = ONE_SHOT_TOKENS if one_shot else SUMMARY_TOKENS
    answer = ExecutiveSummary(executive_summary=_words(min(tokens, 1400)), strategic_recommendations=["Act"])
    return _streamed(answer.model_dump_json(exclude={"notes"}), tokens)


def one_shot_steps(request: MarketRequest, tools: RunTools) -> list[Step]:
    """The first release's shape: research (each agent's evidence step and the agent), then one step that
    writes the whole report."""
    research = [step for step in market_steps(request, tools)
                if StepKey.parse(step.key).kind in (StepKind.EVIDENCE, StepKind.AGENT)]

    async def write_everything(inputs: StepInputs, ctx: StepContext) -> ExecutiveSummary:
        message = findings_message(request.topic, tools.today, findings_of(inputs), inputs, one_shot=True)
        return await tools.ask(summary.SPEC, message, ctx)

    keys = tuple(StepKey.agent(agent.key) for agent in RESEARCH_AGENTS)
    return [*research, Step(ONE_SHOT_KEY, write_everything, needs=keys, requires=Requires.ANY)]


async def _measure(settings: Settings, pipelined: bool) -> tuple[float, float]:
    """Run one graph (the market workflow's, or the one-shot one) and return the seconds to the first section
    written and to the end of the run."""
    request = MarketRequest(topic="plant-based dairy")
    first: list[float] = []
    async with run_tools(settings) as tools:
        steps = market_steps(request, tools) if pipelined else one_shot_steps(request, tools)
        started = time.perf_counter()

        def on_event(event: StatusEvent) -> None:
            writer = event.key == ONE_SHOT_KEY or StepKey.parse(event.key).kind is StepKind.SECTION
            if writer and event.state is StepState.DONE and not first:
                first.append(time.perf_counter() - started)

        run = await run_graph(steps, limits=LIMITS, on_event=on_event)
        done = time.perf_counter() - started
    if not all(o.ok for o in run.outcomes.values()):
        raise SystemExit("benchmark run did not complete: " + json.dumps({k: o.error for k, o in run.outcomes.items()}))
    return first[0], done


def print_pipeline_bench() -> None:
    """Run both graphs once and print a Markdown table with each figure against its critical path."""
    slowest, fastest = max(AGENT_SECONDS.values()), min(AGENT_SECONDS.values())
    write = {name: FIRST_TOKEN + tokens / TOKENS_PER_SECOND
             for name, tokens in (("section", SECTION_TOKENS), ("summary", SUMMARY_TOKENS), ("all", ONE_SHOT_TOKENS))}
    critical = {True: (fastest + write["section"], slowest + max(write["section"], write["summary"])),
                False: (slowest + write["all"], slowest + write["all"])}
    with StubOpenAIServer(respond) as server:
        settings = Settings(api_key="bench", base_url=server.base_url, api="chat_completions", model="stub-model",
                            search=SearchChoice.NONE)
        figures = {mode: asyncio.run(_measure(settings, mode)) for mode in (False, True)}
    print(f"Report writing over HTTP (agents {', '.join(f'{s:g} s' for s in AGENT_SECONDS.values())}; writers stream "
          f"at {TOKENS_PER_SECOND:g} tokens/s: sections {SECTION_TOKENS}, summary {SUMMARY_TOKENS}, "
          f"one-shot {ONE_SHOT_TOKENS} tokens)\n")
    print("| Report | First section on screen | Critical path | Ratio | Complete report | Critical path | Ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for mode, name in ((False, "one-shot synthesis"), (True, "pipelined sections")):
        (first, done), (first_cp, done_cp) = figures[mode], critical[mode]
        print(f"| {name} | {first:.2f} s | {first_cp:.2f} s | {first / first_cp:.3f} | {done:.2f} s | {done_cp:.2f} s | "
              f"{done / done_cp:.3f} |")
    sooner = 1 - figures[True][1] / figures[False][1]
    overhead = figures[True][1] / critical[True][1] - 1
    print(f"\nPipelined complete report {sooner:.0%} sooner than one-shot (goal ≥ 30 %); overhead over its critical "
          f"path {overhead:.1%} (goal ≤ 5 %).")
