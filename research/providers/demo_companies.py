"""Deterministic demo content for the company batch (offline demo model).

Like :mod:`research.providers.demo_content`, everything is seeded from a SHA-256 of the input,
invented, unsourced and watermarked by the renderers. The companies named are often real, so a
demo profile states nothing that could pass for a fact about them: the industry reads
"Illustrative (demo)", the text says it is a placeholder, the founding year and head count are
left empty, and the revenue is a round illustrative number labelled as such.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any

from research.agents.company import CompanyProfile
from research.agents.comparison import CompanyComparison

DEMO_INDUSTRY = "Illustrative (demo)"
DEMO_POSITION_PREFIX = "Demo profile — not research:"
_REVENUES = (50, 100, 250, 500, 1_000, 2_500, 5_000)
"""Illustrative revenues in million USD: round numbers that read as placeholders, not estimates."""
_POSITIONS = ("a leading player in its core segment, competing mainly on breadth of product",
              "a fast-growing challenger taking share from incumbents",
              "a specialist with a loyal base of technical buyers",
              "an established incumbent defending its position against newer entrants")
_PRODUCTS = ("core platform", "analytics suite", "developer APIs", "enterprise plan", "managed services",
             "marketplace", "mobile apps", "security add-ons", "partner programme")
_DEVELOPMENTS = ("launched a new product tier for large enterprises", "expanded into two new regions",
                 "announced a partnership with a major cloud provider", "completed a small acquisition",
                 "reorganised its sales team around industries", "introduced usage-based pricing")
_ADVANTAGES = ("strong brand among developers", "broad integration ecosystem", "high switching costs",
               "economies of scale", "fast product iteration", "global sales coverage")


def _rng(name: str, salt: str) -> random.Random:
    digest = hashlib.sha256(f"{salt}\x00{' '.join(name.lower().split())}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def demo_company(name: str, today: dt.date | None = None) -> CompanyProfile:
    """A schema-valid placeholder profile for ``name``, visibly illustrative and saying nothing about the real firm."""
    rng = _rng(name, "company")
    label = " ".join(name.split())[:120] or "Unnamed company"
    revenue = rng.choice(_REVENUES)
    position = (f"{DEMO_POSITION_PREFIX} placeholder text generated offline; it says nothing about {label}'s real "
                f"business. For illustration only, a company like this might be {rng.choice(_POSITIONS)}. The revenue "
                f"shown (USD {revenue:,} million) is an illustrative round number, not an estimate; founding year "
                "and head count are left empty.")
    return CompanyProfile(
        name=label,
        industry=DEMO_INDUSTRY,
        market_position=position,
        key_products=[f"Illustrative example: {p}" for p in rng.sample(_PRODUCTS, 3)],
        recent_developments=[f"Illustrative example, not a real event: {d}" for d in rng.sample(_DEVELOPMENTS, 2)],
        competitive_advantages=[f"Illustrative example: {a}" for a in rng.sample(_ADVANTAGES, 3)],
        founded_year=None,
        employees_estimate=None,
        revenue_estimate_usd_millions=float(revenue),
        as_of=today or dt.date.today(),
    )


def demo_comparison(profiles: Mapping[str, Any], missing: Sequence[Mapping[str, Any]]) -> CompanyComparison:
    """A comparison of the given illustrative profiles only, naming the missing companies."""
    loaded = [CompanyProfile.model_validate(p) for p in profiles.values()]
    by_revenue = sorted(loaded, key=lambda p: p.revenue_estimate_usd_millions or 0, reverse=True)
    parts = [f"This demo comparison sets {len(loaded)} illustrative demo profiles side by side; it is not research "
             "and says nothing about the real companies."]
    if by_revenue and by_revenue[0].revenue_estimate_usd_millions is not None:
        top = by_revenue[0]
        parts.append(f"In this illustration {top.name} has the largest placeholder revenue (USD "
                     f"{top.revenue_estimate_usd_millions:,.0f} million, a round illustrative number, not an estimate).")
    if missing:
        names = ", ".join(str(m.get("company", "?")) for m in missing)
        parts.append(f"Not researched (their research failed): {names}.")
    differentiators = [f"{p.name} (illustrative demo profile): "
                       f"{next(iter(p.competitive_advantages), 'no competitive advantage given')}"[:400]
                       for p in loaded] or ["No company was profiled."]
    return CompanyComparison(overview=" ".join(parts)[:6000], differentiators=differentiators[:8],
                             watch_points=["These are illustrative demo profiles, not research: research the real "
                                           "companies before relying on anything here."])
