"""What a run's tokens cost, where the model's price is known: a small dated table, overridable.

The table holds OpenAI's list prices (USD per million input / output tokens)
as published when this release was made; ``RESEARCH_PRICES`` overrides or adds
models (``"gpt-4.1-mini=0.40/1.60;my-model=0/0"``). A cost is always labelled an
estimate: cached input, batch discounts and price changes are not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping

from research.core.steps import TokenUsage

PRICES_AS_OF = "2025-06"
"""When the built-in prices were read from OpenAI's pricing page."""

PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4.1": (2.00, 8.00), "gpt-4.1-mini": (0.40, 1.60), "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00), "gpt-4o-mini": (0.15, 0.60), "o4-mini": (1.10, 4.40), "o3": (2.00, 8.00),
}


def parse_prices(text: str) -> dict[str, tuple[float, float]]:
    """Prices from ``"model=input/output;…"`` (USD per million tokens); raises ValueError with the bad part."""
    prices: dict[str, tuple[float, float]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            model, pair = part.split("=", 1)
            given, produced = (float(x) for x in pair.split("/", 1))
        except ValueError:
            raise ValueError(f"expected model=input/output, got {part!r}") from None
        if given < 0 or produced < 0:
            raise ValueError(f"prices cannot be negative: {part!r}")
        prices[model.strip()] = (given, produced)
    return prices


def price_of(model: str, overrides: Mapping[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """USD per million input / output tokens of ``model`` (a dated snapshot such as "gpt-4.1-2025-04-14" has
    its model's price), or None when it is not known."""
    prices = {**PRICES_PER_MILLION, **(overrides or {})}
    return prices.get(model) or next((p for name, p in prices.items() if model.startswith(f"{name}-20")), None)


def estimated_cost(model: str, usage: TokenUsage, overrides: Mapping[str, tuple[float, float]] | None = None
                   ) -> float | None:
    """The estimated USD cost of ``usage`` on ``model``, or None when its price is not known."""
    price = price_of(model, overrides)
    if price is None:
        return None
    return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000


def cost_label(model: str, usage: TokenUsage, overrides: Mapping[str, tuple[float, float]] | None = None) -> str:
    """E.g. "≈ $0.0123 (estimate at list prices of 2025-06)", or "" when the price is not known."""
    cost = estimated_cost(model, usage, overrides)
    if cost is None:
        return ""
    when = "your RESEARCH_PRICES" if overrides and model in overrides else f"list prices of {PRICES_AS_OF}"
    return f"≈ ${cost:,.4f} (estimate at {when})"
