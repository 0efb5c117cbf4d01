"""A server that serves one answer at a time and cuts a running stream short when another request waits.

llama-cpp-python's server does this by default: the waiting request gets its 200 at once, the running
stream ends with ``data: [DONE]`` and no finish reason. With default settings the app must retry such
answers (never spending the repair request on them), go one by one once it sees the server cut a stream
while others were in flight, say so once, and remember it for that server.
"""

from __future__ import annotations

import json

import pytest

from research.config import Settings
from research.core.gates import ONE_BY_ONE_NOTE, REMEMBERED
from research.core.runs import JobStatus
from research.core.steps import StatusEvent
from research.workflows.companies import run_company_batch
from research.workflows.market import run_market_research
from tests.support.openai_server import StubOpenAIServer
from tests.support.responders import latency_responder

LATENCY = {"market": 0.3, "competitor": 0.3, "customer": 0.3, "section": 0.1, "summary": 0.1, "company": 0.3,
           "comparison": 0.1}
"""Each answer streams over this many seconds, so requests overlap as they would on a real small model."""


def _settings(server: StubOpenAIServer, data_dir, api: str = "chat_completions") -> Settings:
    return Settings(api_key="sk-test", base_url=server.base_url, api=api, model="stub-model", data_dir=data_dir)


async def _market(single_slot: bool, data_dir, api: str = "chat_completions") -> tuple:
    events: list[StatusEvent] = []
    with StubOpenAIServer(latency_responder(LATENCY), single_slot=single_slot) as server:
        result = await run_market_research("widgets", _settings(server, data_dir, api), on_event=events.append)
        return result, len(server.requests), server.interruptions, events, server.base_url


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_a_market_report_is_complete_against_a_server_that_cuts_streams_short(tmp_path, api) -> None:
    baseline, requests_plain, cut_plain, _, _ = await _market(False, tmp_path / "plain", api)
    result, requests, cut, events, server = await _market(True, tmp_path / "one-slot", api)
    assert baseline.status is JobStatus.COMPLETE and cut_plain == 0
    assert cut >= 1, "the server cut at least one stream short (else this test proves nothing)"
    assert result.status is JobStatus.COMPLETE, [o.error for o in result.all_outcomes]
    assert requests <= 3 * requests_plain, (requests, requests_plain)
    messages = [e.message for e in events if e.message]
    assert sum(ONE_BY_ONE_NOTE in m for m in messages) == 1, "said once"
    assert any("the model server ended the answer early; retrying" in m for m in messages)
    assert not any("asking the model again" in m for m in messages), "an interrupted answer never costs the repair"
    remembered = json.loads((tmp_path / "one-slot" / REMEMBERED).read_text())
    assert remembered == {server: {"one_at_a_time": True}}, "remembered for that server"
    assert not (tmp_path / "plain" / REMEMBERED).exists()


async def test_a_company_batch_is_complete_against_a_server_that_cuts_streams_short(tmp_path) -> None:
    names = ["Acme", "Beta", "Gamma", "Delta"]
    counts = {}
    for single_slot in (False, True):
        with StubOpenAIServer(latency_responder(LATENCY), single_slot=single_slot) as server:
            result = await run_company_batch(names, _settings(server, tmp_path / str(single_slot)))
            counts[single_slot] = (len(server.requests), server.interruptions)
        assert result.status is JobStatus.COMPLETE, [o.error for o in result.all_outcomes]
    (plain, _), (requests, cut) = counts[False], counts[True]
    assert cut >= 1 and requests <= 3 * plain, counts


async def test_a_server_known_to_serve_one_at_a_time_gets_one_request_at_a_time_from_the_start(tmp_path) -> None:
    with StubOpenAIServer(latency_responder(LATENCY), single_slot=True) as server:
        (tmp_path / REMEMBERED).write_text(json.dumps({server.base_url: {"one_at_a_time": True}}))
        result = await run_market_research("widgets", _settings(server, tmp_path))
        assert (result.status, server.interruptions, server.max_in_flight) == (JobStatus.COMPLETE, 0, 1)
