"""Unit tests of the output models' own normalising, the JSON extraction and the salvage rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from research.agents import company, comparison, competitor, customer, market, section, summary
from research.agents.company import CompanyProfile
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.fields import parse_number, to_currency_code, to_partial_date
from research.agents.market import MarketData
from research.agents.salvage import NoJsonError, extract_json, missing_parts_model, salvage
from research.agents.wire import STRICT_KEYWORDS, wire_schema
from tests.support.imperfect import LINE_BREAK, break_line, valid_answer

SPECS = (market.SPEC, competitor.SPEC, customer.SPEC, section.SPEC, summary.SPEC, company.SPEC, comparison.SPEC)


@pytest.mark.parametrize(("text", "number"), [
    ("12%", 12.0), ("1,234.5", 1234.5), ("12,5", 12.5), ("1.234,5", 1234.5), ("$ 23.7", 23.7),
    ("23.7bn", 23.7), ("-3.5 %", -3.5), ("1 234 567", 1234567.0), (7, 7), ("about", "about"),
])
def test_numbers_written_as_text_are_read(text: Any, number: Any) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize(("text", "code"), [
    ("usd", "USD"), ("US dollars", "USD"), ("US Dollar", "USD"), ("€", "EUR"), ("euros", "EUR"), ("£", "GBP"),
    ("Polish zlotys", "PLN"), ("zł", "PLN"), ("Japanese Yen", "JPY"), ("Martian credits", "Martian credits"),
])
def test_currencies_become_iso_codes_and_unknown_ones_stay_as_written(text: str, code: str) -> None:
    assert to_currency_code(text) == code


@pytest.mark.parametrize(("text", "date"), [
    ("2025", "2025"), ("2025-6", "2025-06"), ("June 2025", "2025-06"), ("2025/06/30", "2025-06-30"),
    ("2025-06-30T12:00:00Z", "2025-06-30"), (2025, "2025"),
])
def test_partial_dates_keep_their_precision(text: Any, date: str) -> None:
    assert to_partial_date(text) == date


def market_answer(**changes: Any) -> dict[str, Any]:
    answer = valid_answer("MarketData", '{"topic": "plant-based dairy", "today": "2026-11-30"}')
    for path, value in changes.items():
        target = answer
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return answer


@pytest.mark.parametrize(("field", "written", "read"), [
    ("market_size__scale", "Billion", "billion"), ("market_size__scale", "bn", "billion"),
    ("market_size__scale", "MN", "million"), ("market_size__currency", "US dollars", "USD"),
    ("market_size__value", "1,234.5", 1234.5), ("growth__cagr_percent", "12%", 12.0), ("as_of", "2025", "2025"),
])
def test_near_miss_values_are_read_without_a_note(field: str, written: Any, read: Any) -> None:
    result = salvage(MarketData, market_answer(**{field: written}))
    value: Any = result.value
    for key in field.split("__"):
        value = getattr(value, key)
    assert value == read and result.value.notes == []


def test_growth_periods_that_run_backwards_are_swapped_and_equal_ones_dropped() -> None:
    backwards = salvage(MarketData, market_answer(growth__start_year=2030, growth__end_year=2025)).value
    assert (backwards.growth.start_year, backwards.growth.end_year) == (2025, 2030)
    assert backwards.notes == ["Growth period was given backwards; read as 2025–2030."]
    same = salvage(MarketData, market_answer(growth__start_year=2025, growth__end_year=2025)).value
    assert same.growth.period == "" and same.growth.cagr_percent == market_answer()["growth"]["cagr_percent"]
    assert same.notes == ["Growth period was unclear (2025–2025); the rate is shown without it."]


def test_an_unknown_currency_is_kept_and_noted_never_turned_into_usd() -> None:
    data = salvage(MarketData, market_answer(market_size__currency="Martian credits")).value
    assert data.market_size.currency == "Martian credits"
    assert data.notes == ["Currency “Martian credits” is not a known ISO 4217 code; amounts are shown as written."]


def test_extra_keys_are_ignored_and_a_notes_key_from_the_model_is_discarded() -> None:
    answer = market_answer()
    answer["notes"], answer["market_size"]["confidence"] = "model commentary", "high"
    data = salvage(MarketData, answer).value
    assert data is not None and data.notes == []


def test_unreadable_optional_values_become_unknown_and_bad_items_are_left_out() -> None:
    answer = valid_answer("CompetitorReport", '{"topic": "plant-based dairy"}')
    first, second = answer["competitors"][0], answer["competitors"][1]
    first["market_share_percent"] = "a lot"
    second["positioning"] = {"text": "not a sentence"}
    result = salvage(CompetitorReport, answer)
    names = [c.name for c in result.value.competitors]
    assert second["name"] not in names and len(names) == len(answer["competitors"]) - 1
    assert result.value.competitors[0].market_share_percent is None
    assert result.value.notes == [f"Market share percent of “{first['name']}” could not be read and is shown as unknown.",
                                  f"One competitor entry “{second['name']}” could not be read and was left out."]


def customer_answer() -> dict[str, Any]:
    return valid_answer("CustomerReport", '{"topic": "plant-based dairy"}')


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_an_empty_optional_text_becomes_unknown_and_keeps_its_entry(empty: str | None) -> None:
    answer = customer_answer()
    first = answer["segments"][0]
    first["size_note"] = first["willingness_to_pay"]["note"] = empty
    data = salvage(CustomerReport, answer).value
    assert [s.name for s in data.segments] == [s["name"] for s in answer["segments"]], "no segment is dropped"
    assert data.segments[0].size_note is None and data.segments[0].willingness_to_pay.note is None
    assert data.notes == ([] if empty is None else [
        f"Size note of “{first['name']}” was empty and is shown as unknown.",
        f"Willingness to pay note of “{first['name']}” was empty and is shown as unknown."])


def test_an_unreadable_optional_text_becomes_unknown_with_one_note() -> None:
    answer = customer_answer()
    first = answer["segments"][0]
    first["size_note"] = {"households": 1200}
    data = salvage(CustomerReport, answer).value
    assert len(data.segments) == len(answer["segments"]) and data.segments[0].size_note is None
    assert data.notes == [f"Size note of “{first['name']}” could not be read and is shown as unknown."]


@pytest.mark.parametrize("empty", [[], None, "", ["", "  "]])
def test_minor_lists_may_be_empty_and_each_empty_one_is_noted(empty: Any) -> None:
    competitors = valid_answer("CompetitorReport", '{"topic": "plant-based dairy"}')
    first = competitors["competitors"][0]
    first["strengths"] = empty
    del first["weaknesses"]
    data = salvage(CompetitorReport, competitors).value
    assert len(data.competitors) == len(competitors["competitors"])
    assert (data.competitors[0].strengths, data.competitors[0].weaknesses) == ([], [])
    assert data.notes == [f"No strengths were given for “{first['name']}”.", f"No weaknesses were given for “{first['name']}”."]

    customers = customer_answer()
    segment = customers["segments"][0]
    segment["pain_points"] = segment["buying_patterns"] = empty
    data = salvage(CustomerReport, customers).value
    assert data.notes == [f"No pain points were given for “{segment['name']}”.",
                          f"No buying patterns were given for “{segment['name']}”."]

    market = market_answer(key_trends=empty, drivers=empty, risks=empty)
    assert salvage(MarketData, market).value.notes == [
        "No key trends were given.", "No growth drivers were given.", "No risks were given."]


def test_a_company_needs_only_its_core_and_says_which_lists_are_empty() -> None:
    answer = valid_answer("CompanyProfile", '{"company": "Acme Robotics"}')
    answer.update(competitive_advantages=[], recent_developments=None)
    del answer["key_products"]
    result = salvage(CompanyProfile, answer)
    assert result.missing == [] and result.value.name == answer["name"]
    assert result.value.notes == ["No key products were given.", "No recent developments were given.",
                                  "No competitive advantages were given."]
    del answer["industry"]
    assert salvage(CompanyProfile, answer).missing == ["industry"], "the core is still required"


def test_a_merged_twin_fills_a_list_its_entry_left_empty() -> None:
    answer = customer_answer()
    first = answer["segments"][0]
    answer["segments"].append(dict(first, name=first["name"].upper()))
    first["pain_points"] = []
    data = salvage(CustomerReport, answer).value
    assert data.segments[0].pain_points == answer["segments"][-1]["pain_points"]
    assert data.notes == [f"Segment “{first['name']}” was listed twice; the entries were merged."]


def test_duplicates_are_merged_and_share_totals_over_100_are_kept_and_flagged() -> None:
    answer = valid_answer("CustomerReport", '{"topic": "plant-based dairy"}')
    twin = dict(answer["segments"][0], name=answer["segments"][0]["name"].upper(), pain_points=["queues"])
    answer["segments"].append(twin)
    for segment in answer["segments"]:
        segment["share_percent"] = 40
    data = salvage(CustomerReport, answer).value
    assert len(data.segments) == len(answer["segments"]) - 1
    assert "queues" in data.segments[0].pain_points
    total = 40 * len(data.segments)
    assert data.share_total == total
    assert data.notes == [f"Segment “{answer['segments'][0]['name']}” was listed twice; the entries were merged.",
                          f"Segment shares add up to {total} %, more than the whole market; they are shown as given."]


def test_missing_required_parts_are_named_and_the_rest_is_kept() -> None:
    answer = market_answer()
    del answer["growth"]
    result = salvage(MarketData, answer)
    assert result.value is None and result.missing == ["growth"]
    assert result.data["market_size"] == answer["market_size"]
    repair = missing_parts_model(MarketData, result.missing)
    assert list(wire_schema(repair)["properties"]) == ["growth"]


@pytest.mark.parametrize("wrapped", [
    "<think>\nThe user wants {a guess}.\n</think>\n{JSON}",
    "Here is the JSON:\n{JSON}\nLet me know if you need more.",
    "```json\n{JSON}\n```",
    "{JSON} trailing words",
])
def test_json_is_found_inside_reasoning_prefaces_and_fences(wrapped: str) -> None:
    answer = market_answer()
    found = extract_json(wrapped.replace("{JSON}", json.dumps(answer)))
    assert found.data == answer and not found.cut_off


@pytest.mark.parametrize("control", ["\n", "\r\n", "\t", "\x0b", "\x1f"])
def test_raw_control_characters_inside_strings_are_read_as_written(control: str) -> None:
    answer = market_answer()
    trend = answer["key_trends"][0]
    text = json.dumps(answer, indent=2).replace(json.dumps(trend), f'"{trend[:5]}{control}{trend[5:]}"')
    found = extract_json("Here is the JSON:\n" + text)
    assert found.data["key_trends"][0] == f"{trend[:5]}{control}{trend[5:]}" and not found.cut_off
    assert found.data["market_size"] == answer["market_size"]


def test_a_cut_off_answer_with_raw_line_breaks_keeps_what_arrived() -> None:
    answer = valid_answer("CompetitorReport", '{"topic": "plant-based dairy"}')
    first = answer["competitors"][0]
    text = json.dumps(answer).replace(json.dumps(first["positioning"]), f'"{break_line(first["positioning"])}"')
    found = extract_json(text[: len(text) * 6 // 10])
    assert found.cut_off and found.data["competitors"][0]["positioning"] == break_line(first["positioning"])
    inside = extract_json(text[: text.index(LINE_BREAK) + len(LINE_BREAK) + 3])  # cut off inside that string
    assert inside.cut_off and inside.data["competitors"][0]["name"] == first["name"]


def test_a_cut_off_answer_keeps_what_arrived() -> None:
    text = json.dumps(valid_answer("CompetitorReport", '{"topic": "plant-based dairy"}'))
    found = extract_json(text[: len(text) * 6 // 10])
    assert found.cut_off and found.data["competitors"]
    result = salvage(CompetitorReport, found.data, cut_off=True)
    assert result.value is not None
    assert result.value.notes[0] == "The answer was cut off before it was complete; the parts that arrived are used."


def test_plain_text_is_no_json_and_a_refusal_is_recognised() -> None:
    with pytest.raises(NoJsonError) as refused:
        extract_json("I'm sorry, but I can't help with that request.")
    assert refused.value.refusal == "I'm sorry, but I can't help with that request."
    with pytest.raises(NoJsonError) as other:
        extract_json("The market is large.")
    assert other.value.refusal is None


def _keywords(node: Any) -> set[str]:
    """Every JSON-schema keyword used anywhere in ``node`` (property names excluded)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _keywords(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            subs = value.values() if key in ("properties", "$defs") else [value]
            for sub in subs:
                found |= _keywords(sub)
    return found


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_every_schema_sent_holds_only_keywords_openai_strict_mode_accepts(spec) -> None:
    schemas = [wire_schema(spec.output_type)]
    required = [n for n, f in spec.output_type.model_fields.items() if f.is_required()]
    schemas.append(wire_schema(missing_parts_model(spec.output_type, required)))
    for schema in schemas:
        assert _keywords(schema) <= STRICT_KEYWORDS, _keywords(schema) - STRICT_KEYWORDS
        assert "notes" not in schema["properties"], "notes are the app's, never asked of the model"
        assert schema["additionalProperties"] is False and set(schema["required"]) == set(schema["properties"])
