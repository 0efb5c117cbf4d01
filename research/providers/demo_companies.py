"""Deterministic demo content for the company batch (offline demo model).

Like :mod:`research.providers.demo_content`, everything is seeded from a SHA-256 of the
input, invented, unsourced and watermarked by the renderers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any

from research.agents.company import CompanyProfile
from research.agents.comparison import CompanyComparison

_INDUSTRIES = ("Payments infrastructure", "Cloud monitoring software", "Content delivery and security",
               "Developer platforms", "Enterprise collaboration software", "Consumer electronics",
               "Logistics technology", "Renewable energy equipment")
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
    """An invented, schema-valid profile for ``name``."""
    rng = _rng(name, "company")
    label = " ".join(name.split())[:120] or "Unnamed company"
    return CompanyProfile(
        name=label,
        industry=rng.choice(_INDUSTRIES),
        market_position=f"{label} is {rng.choice(_POSITIONS)} (illustrative demo text).",
        key_products=[f"{label} {p}"[:400] for p in rng.sample(_PRODUCTS, 3)],
        recent_developments=rng.sample(_DEVELOPMENTS, 2),
        competitive_advantages=rng.sample(_ADVANTAGES, 3),
        founded_year=rng.randint(1995, 2018),
        employees_estimate=int(round(rng.lognormvariate(7.5, 1.0), -1)) + 10,
        revenue_estimate_usd_millions=round(rng.lognormvariate(6.0, 1.2), 1),
        as_of=today or dt.date.today(),
    )


def demo_comparison(profiles: Mapping[str, Any], missing: Sequence[Mapping[str, Any]]) -> CompanyComparison:
    """A comparison that uses only the given profiles and names the missing companies."""
    loaded = [CompanyProfile.model_validate(p) for p in profiles.values()]
    by_revenue = sorted(loaded, key=lambda p: p.revenue_estimate_usd_millions or 0, reverse=True)
    parts = [f"This demo comparison covers {len(loaded)} companies."]
    if by_revenue:
        top = by_revenue[0]
        parts.append(f"{top.name} is the largest by estimated revenue (about USD {top.revenue_estimate_usd_millions:,.0f} "
                     "million, an unsourced demo estimate).")
    if missing:
        names = ", ".join(str(m.get("company", "?")) for m in missing)
        parts.append(f"Not researched (their research failed): {names}.")
    differentiators = [f"{p.name}: {p.competitive_advantages[0]}"[:400] for p in loaded] or ["No company was profiled."]
    return CompanyComparison(overview=" ".join(parts)[:6000], differentiators=differentiators[:8],
                             watch_points=["Validate these demo estimates with real research before relying on them."])
