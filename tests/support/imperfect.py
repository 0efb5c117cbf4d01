"""Realistic near-miss answers, the kind real (imperfect) models give, for the stub OpenAI server.

Each :class:`Flaw` turns a VALID answer (a dict, e.g. ``json.loads(demo_output_for(title, text))``)
into the text of an imperfect one: a currency written as a name, a percentage as a string, extra
keys, prose around the JSON, an answer cut off at the token limit... :func:`imperfect_responder`
serves one flaw to the agent whose schema has the flaw's title and valid demo answers to the rest;
:func:`refusing_responder` makes one agent refuse the way real models do.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

from research.providers.demo_content import demo_output_for
from tests.support.openai_wire import Reply, Responder, StubRequest
from tests.support.responders import schema_title

REFUSAL = "I'm sorry, but I can't help with that request."
"""The refusal text :func:`refusing_responder` answers with."""


@dataclass(frozen=True)
class Flaw:
    """One kind of imperfect answer: ``make(valid_answer) -> answer_text`` for schema ``title``."""

    name: str
    title: str  # the output schema title (e.g. "MarketData") whose answers this flaw applies to
    make: Callable[[dict], str]  # never modifies its argument

    def __call__(self, valid: dict) -> str:
        """The imperfect answer text made from ``valid``."""
        return self.make(valid)


def _dumps(answer: dict) -> str:
    return json.dumps(answer)


def _edit(edit: Callable[[dict], object]) -> Callable[[dict], str]:
    """A flaw function that edits the (copied) answer in place and returns its JSON text."""
    def make(answer: dict) -> str:
        answer = copy.deepcopy(answer)
        edit(answer)
        return _dumps(answer)
    return make


def _set(*path: str, value: object) -> Callable[[dict], str]:
    """A flaw function setting ``answer[path...] = value``."""
    def edit(answer: dict) -> None:
        target = answer
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return _edit(edit)


def _each(items: str, edit: Callable[[dict], object]) -> Callable[[dict], str]:
    """A flaw function applying ``edit`` to every dict in the list ``answer[items]``."""
    return _edit(lambda answer: [edit(item) for item in answer[items]])


def _growth_years(answer: dict, reverse: bool) -> None:
    growth = answer["growth"]
    if reverse:
        growth["start_year"], growth["end_year"] = growth["end_year"], growth["start_year"]
    else:
        growth["end_year"] = growth["start_year"]


def _extra_keys(answer: dict) -> None:
    answer["notes"] = "model commentary"
    answer["market_size"]["confidence"] = "high"


def _shares_over_100(answer: dict) -> None:
    """Scale the known competitor shares (all equal if none is known) so they add up to 106."""
    competitors = answer["competitors"]
    known = [c for c in competitors if isinstance(c.get("market_share_percent"), int | float)]
    if not known or not sum(c["market_share_percent"] for c in known):
        known = competitors
        for c in known:
            c["market_share_percent"] = 1.0
    total = sum(c["market_share_percent"] for c in known)
    for c in known:
        c["market_share_percent"] = round(c["market_share_percent"] * 106 / total, 1)
    largest = max(known, key=lambda c: c["market_share_percent"])
    rest = sum(c["market_share_percent"] for c in known if c is not largest)
    largest["market_share_percent"] = round(106 - rest, 1)


def _duplicate_competitor(answer: dict) -> None:
    first = copy.deepcopy(answer["competitors"][0])
    answer["competitors"].append({**first, "name": first["name"].upper()})


def _wtp(segment: dict, level: str) -> None:
    segment["willingness_to_pay"]["level"] = level


def _share_string(segment: dict) -> None:
    if isinstance(segment.get("share_percent"), int | float):
        segment["share_percent"] = f"{segment['share_percent']:g}%"


LINE_BREAK = "\n\t"
"""What :func:`break_line` puts in a text: a raw line break and a tab, which strict JSON allows only escaped."""


def break_line(text: str) -> str:
    """``text`` with its first space turned into :data:`LINE_BREAK` (how "raw_line_break" writes the first key trend)."""
    return text.replace(" ", LINE_BREAK, 1)


def _raw_line_break(answer: dict) -> str:
    """The answer with its first key trend broken over two lines, raw (unescaped) inside the JSON string."""
    answer = copy.deepcopy(answer)
    answer["key_trends"][0] = break_line(answer["key_trends"][0])
    return _dumps(answer).replace(json.dumps(LINE_BREAK)[1:-1], LINE_BREAK)


def _cut_off(answer: dict) -> str:
    text = _dumps(answer)
    return text[: int(len(text) * 0.6)]


def _flaws(*flaws: Flaw) -> dict[str, Flaw]:
    return {f.name: f for f in flaws}


FLAWS: dict[str, Flaw] = _flaws(
    Flaw("currency_name", "MarketData", _set("market_size", "currency", value="US dollars")),
    Flaw("currency_symbol", "MarketData", _set("market_size", "currency", value="€")),
    Flaw("currency_unknown", "MarketData", _set("market_size", "currency", value="Martian credits")),
    Flaw("scale_capitalised", "MarketData", _set("market_size", "scale", value="Billion")),
    Flaw("scale_abbreviation", "MarketData", _set("market_size", "scale", value="bn")),
    Flaw("value_as_string", "MarketData", _set("market_size", "value", value="1,234.5")),
    Flaw("value_decimal_comma", "MarketData", _set("market_size", "value", value="12,5")),
    Flaw("cagr_percent_string", "MarketData", _set("growth", "cagr_percent", value="12%")),
    Flaw("growth_equal_years", "MarketData", _edit(lambda a: _growth_years(a, reverse=False))),
    Flaw("growth_reversed", "MarketData", _edit(lambda a: _growth_years(a, reverse=True))),
    Flaw("as_of_year_only", "MarketData", _set("as_of", value="2025")),
    Flaw("extra_keys", "MarketData", _edit(_extra_keys)),
    Flaw("missing_required", "MarketData", _edit(lambda a: a.pop("growth"))),
    Flaw("omitted_nullable", "CompetitorReport", _each("competitors", lambda c: c.pop("market_share_percent", None))),
    Flaw("shares_over_100", "CompetitorReport", _edit(_shares_over_100)),
    Flaw("duplicate_competitor", "CompetitorReport", _edit(_duplicate_competitor)),
    Flaw("wtp_capitalised", "CustomerReport", _each("segments", lambda s: _wtp(s, s["willingness_to_pay"]["level"].capitalize()))),
    Flaw("wtp_synonym", "CustomerReport", _each("segments", lambda s: _wtp(s, "med"))),
    Flaw("share_percent_string", "CustomerReport", _each("segments", _share_string)),
    Flaw("think_block", "CustomerReport", lambda a: "<think>\nLet me reason about this...\n</think>\n" + _dumps(a)),
    Flaw("preface", "CompetitorReport", lambda a: "Here is the JSON:\n" + _dumps(a) + "\nLet me know if you need more."),
    Flaw("fenced", "MarketData", lambda a: "```json\n" + _dumps(a) + "\n```"),
    Flaw("cut_off", "CompetitorReport", _cut_off),
    Flaw("raw_line_break", "MarketData", _raw_line_break),
    Flaw("size_note_empty", "CustomerReport", _edit(lambda a: a["segments"][0].update(size_note=""))),
    Flaw("no_competitive_advantages", "CompanyProfile", _set("competitive_advantages", value=[])),
    Flaw("growth_1000", "MarketData", _set("growth", "cagr_percent", value=1000)),
    Flaw("growth_in_the_past", "MarketData", _edit(lambda a: a["growth"].update(start_year=1985, end_year=2017))),
)
"""Every flaw by name. All but those in :data:`NOT_JSON` give parseable (strict) JSON."""

NOT_JSON = frozenset({"cut_off", "think_block", "preface", "fenced", "raw_line_break"})
"""Flaws whose text is not parseable JSON as a whole."""


def valid_answer(title: str, user_text: str = "") -> dict:
    """The valid demo answer for schema ``title`` as a dict."""
    return json.loads(demo_output_for(title, user_text))


def imperfect_responder(flaw_name: str, latency: float = 0.0, *, times: int | None = None) -> Responder:
    """A responder answering requests for the flaw's schema title with the flawed text (served with
    ``finish="length"`` for "cut_off") and every other request validly, each after ``latency`` seconds.

    ``times``: give the flawed answer only to the first ``times`` requests for that title (e.g. 1 to let a
    retry or repair request get a valid answer); None means every time.
    """
    flaw = FLAWS[flaw_name]
    lock, served = threading.Lock(), [0]

    def respond(request: StubRequest) -> Reply:
        title = schema_title(request)
        valid = demo_output_for(title, request.user_text)
        if title == flaw.title:
            with lock:
                flawed = times is None or served[0] < times
                served[0] += flawed
            if flawed:
                return Reply(content=flaw(json.loads(valid)), delay=latency,
                             finish="length" if flaw_name == "cut_off" else "stop")
        return Reply(content=valid, delay=latency)

    return respond


def refusing_responder(title: str, latency: float = 0.0) -> Responder:
    """A responder whose agent for schema ``title`` refuses, like real models do: a refusal
    (``Reply.refusal``) in structured-output (``json_schema``) mode, else the refusal as plain
    content (no JSON) in JSON / text mode. Every other request is answered validly."""

    def respond(request: StubRequest) -> Reply:
        request_title = schema_title(request)
        if request_title != title:
            return Reply(content=demo_output_for(request_title, request.user_text), delay=latency)
        if request.response_format_type == "json_schema":
            return Reply(refusal=REFUSAL, delay=latency)
        return Reply(content=REFUSAL, delay=latency)

    return respond
