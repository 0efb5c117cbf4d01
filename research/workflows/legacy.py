"""Saved results from earlier releases, upgraded to today's result shapes and rules so no report is lost.

The first release stored a market run as three agents plus one ``synthesis``
step holding every prose section, and a company batch with bare company names
as step keys. :func:`upgrade_result` turns such JSON into today's shape (the
graph's namespaced step keys, one section step per agent, a summary step);
current JSON passes through unchanged. :func:`recheck_figures` checks a saved
run's figures again against the evidence kept with it, so a report saved when
"verified" meant less (or a demo report) never claims more than today's rules allow.
"""

from __future__ import annotations

import json
from typing import Any

from research.inputs import WorkflowKind
from research.retrieval.grounding import ground

_SECTION_FIELDS = {"market": "market_overview", "competitor": "competitive_landscape", "customer": "customer_segments"}
_NO_USAGE = {"requests": 0, "input_tokens": 0, "output_tokens": 0}


def _market_v1(data: dict[str, Any]) -> dict[str, Any]:
    synthesis = data.pop("synthesis")
    written = synthesis.get("result") or {}
    for agent in _SECTION_FIELDS:
        data[agent] = {**data[agent], "key": f"agent:{agent}"}
    data["sections"] = {
        agent: {**synthesis, "key": f"section:{agent}", "usage": _NO_USAGE,
                "result": {"prose": written[field]} if written.get(field) else None}
        for agent, field in _SECTION_FIELDS.items()
    }
    summary = {name: written[name] for name in ("executive_summary", "strategic_recommendations",
                                                 "follow_up_questions") if name in written}
    data["summary"] = {**synthesis, "key": "report:summary", "result": summary or None}
    data["request"] = {"kind": WorkflowKind.MARKET, "topic": data.pop("topic")}
    return data


def _companies_v1(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("kind", None)
    data["request"] = {"kind": WorkflowKind.COMPANIES, "names": data.pop("names"), "concurrency": data.get("concurrency")}
    data["companies"] = [{**o, "key": f"company:{o['key']}"} for o in data["companies"]]
    data["comparison"] = {**data["comparison"], "key": "report:comparison"}
    return data


def upgrade_result(kind: str, raw: str) -> dict[str, Any]:
    """The stored result JSON ``raw`` of a ``kind`` job, in today's shape."""
    data = json.loads(raw)
    if kind == WorkflowKind.MARKET and "synthesis" in data:
        return _market_v1(data)
    if kind == WorkflowKind.COMPANIES and "names" in data:
        return _companies_v1(data)
    return data


def recheck_figures(result: Any) -> Any:
    """``result`` with every figure checked again by today's rules against the evidence kept with it."""
    for data, evidence in result.grounded():
        ground(data, evidence)
    return result
