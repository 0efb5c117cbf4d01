"""How faithful "verified" is: the grounding rules run over hand-written cases, offline, no model.

``python -m benchmarks --faithfulness`` checks every case of
:mod:`benchmarks.faithfulness_cases` with the same code the app uses
(:func:`research.retrieval.grounding.figure_check`) and prints the precision
and recall of *verified* (goal: precision 100 %, no figure wrongly verified;
recall at least 95 %), a confusion table of expected against given statuses,
and every case the rules got wrong.
"""

from __future__ import annotations

import time
from collections import Counter
from types import SimpleNamespace

from benchmarks.faithfulness_cases import CASES, Case
from research.agents.common import CitedFigure, FigureCheck, FigureStatus
from research.retrieval.grounding import figure_check
from research.retrieval.types import Passage


def check_case(case: Case) -> FigureCheck:
    """The check the app gives the case's figure against its passages (cited first, then the uncited ones)."""
    passages = [Passage(id=f"E{n}", url=f"https://example.com/{n}", title=f"Source {n}", text=text, retrieved_at=0,
                        published=case.published) for n, text in enumerate(case.cited + case.uncited, 1)]
    owner = SimpleNamespace(quote=case.quote, cites=[p.id for p in passages[:len(case.cited)]])
    figure = CitedFigure(case.rule, str(case.claim.value), case.claim, owner)
    return figure_check(figure, passages[:len(case.cited)], passages)[0]


def run_faithfulness_bench() -> tuple[list[tuple[Case, FigureCheck]], float]:
    """Every case with its check, and the seconds all the checks took."""
    started = time.perf_counter()
    results = [(case, check_case(case)) for case in CASES]
    return results, time.perf_counter() - started


def print_faithfulness_bench() -> bool:
    """Print precision and recall of *verified*, the confusion table and the misses; True when the goal is met."""
    results, seconds = run_faithfulness_bench()
    given_verified = [(c, r) for c, r in results if r.status is FigureStatus.VERIFIED]
    expected_verified = [c for c, _ in results if c.expected is FigureStatus.VERIFIED]
    true_verified = [c for c, r in given_verified if c.expected is FigureStatus.VERIFIED]
    precision = len(true_verified) / len(given_verified) if given_verified else 1.0
    recall = len(true_verified) / len(expected_verified) if expected_verified else 1.0
    disagree_ok = sum(1 for c, r in results if len(r.disagreeing) == c.disagree)
    print(f"## Faithfulness of grounding ({len(results)} cases, {seconds * 1000:.0f} ms)\n")
    print(f"- Precision of verified: {precision:.1%} ({len(true_verified)} of {len(given_verified)} verified were right)")
    print(f"- Recall of verified: {recall:.1%} ({len(true_verified)} of {len(expected_verified)} stated figures found)")
    print(f"- Statuses as expected: {sum(c.expected is r.status for c, r in results)} of {len(results)}")
    print(f"- Disagreeing sources found as expected: {disagree_ok} of {len(results)}\n")
    statuses = [s for s in FigureStatus if s is not FigureStatus.ILLUSTRATIVE]
    table = Counter((c.expected, r.status) for c, r in results)
    print("| expected \\ given | " + " | ".join(s.value for s in statuses) + " |")
    print("|---|" + "---:|" * len(statuses))
    for expected in statuses:
        print(f"| {expected.value} | " + " | ".join(str(table[(expected, given)] or "") for given in statuses) + " |")
    misses = [(c, r) for c, r in results if c.expected is not r.status or len(r.disagreeing) != c.disagree]
    if misses:
        print("\nCases the rules got wrong:")
        for case, check in misses:
            print(f"- {case.rule}: expected {case.expected.value} ({case.disagree} disagreeing), "
                  f"got {check.status.value} ({len(check.disagreeing)} disagreeing)")
    met = precision == 1.0 and recall >= 0.95
    print(f"\nGoal: precision 100 % and recall ≥ 95 % — {'meets' if met else 'MISSES'} it.")
    return met
