"""A test model that cites the evidence it was given: verified, not found, or whatever a test makes of competitors."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.openai_wire import Reply, Responder, StubRequest
from tests.support.responders import schema_title

ARTICLE_NUMBERS = "23.7 billion"
"""What the page server's article states (tests/support/page_server.py ARTICLE_FIGURE)."""


def evidence_of(request: StubRequest) -> list[dict]:
    """The evidence passages a research request carried (inside its JSON data)."""
    data = json.JSONDecoder().raw_decode(request.user_text[request.user_text.index("{"):])[0]
    return data.get("evidence") or []


def passage_with(request: StubRequest, text: str) -> str:
    """The id of the evidence passage whose text holds ``text``."""
    return next(p["id"] for p in evidence_of(request) if text in p["text"])


def grounded_responder(valid: Responder, competitor: Callable[[dict], None]) -> Responder:
    """The market agent cites the article passage stating its figures (verified); the customer agent cites it
    for shares it does not hold (not found); ``competitor`` edits the competitor's answer; the rest is ``valid``."""

    def respond(request: StubRequest) -> Reply:
        reply, title = valid(request), schema_title(request)
        if title not in ("MarketData", "CompetitorReport", "CustomerReport"):
            return reply
        answer = json.loads(reply.content)
        if title == "MarketData":
            article = passage_with(request, ARTICLE_NUMBERS)
            answer["market_size"] = {"value": 23.7, "currency": "EUR", "scale": "billion", "year": 2024,
                                     "cites": [article]}
            answer["growth"] = {"cagr_percent": 12.5, "start_year": 2024, "end_year": 2030, "cites": [article]}
        elif title == "CompetitorReport":
            competitor(answer)
        else:
            for segment in answer["segments"]:
                segment["cites"] = [passage_with(request, ARTICLE_NUMBERS)]
        return Reply(content=json.dumps(answer))

    return respond
