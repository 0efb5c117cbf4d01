"""A hard budget for one run: each model request reserves its worst case before it starts.

Before a request goes out, :meth:`RunBudget.reserve` sets aside its worst
case: the prompt counted conservatively (:func:`conservative_tokens`: one
token per three UTF-8 bytes, plus the chat template's overhead; English
prose averages about four bytes per token and JSON about three) plus the
request's output-token limit, priced at the model's rate when the budget is
in USD. A request that does not fit waits while other requests of the run
are in flight (their unused reservations come back when they end); when it
still does not fit with nothing in flight, it is not sent and its step ends
as *skipped: budget reached* (:class:`BudgetReached`).

When the answer lands, :meth:`RunBudget.settle` replaces the reservation by
what the server reports, or, where it reports no usage (llama.cpp-style
servers), by an estimate counted the same conservative way (and labelled an
estimate). Retries and repair requests reserve and settle like any request.

The guarantee: the run's spend never exceeds its budget by more than
:attr:`RunBudget.undercount`, the tokens by which the server's exact counts
exceeded the reservations (a prompt denser than one token per three bytes:
long digit strings, some scripts). It is 0 in the usual case, and the report
says so when it is not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

MESSAGE_OVERHEAD = 16
"""Tokens allowed per message for the chat template's markers (real templates use 3 to 8)."""
REQUEST_OVERHEAD = 16
"""Tokens allowed per request for the reply's priming and the tool or schema framing."""
BUDGET_REACHED = "budget reached"
"""How a step that did not fit in its run's budget is described (after "skipped: ")."""


BYTES_PER_TOKEN = 3
"""The conservative count's rate: tokens of the tokenizers in use average more bytes than this."""


def conservative_tokens(*texts: str, messages: int = 1) -> int:
    """The tokens of ``texts`` sent as ``messages`` chat messages, counted high: one per three UTF-8 bytes."""
    size = sum(len(text.encode("utf-8")) for text in texts)
    return -(-size // BYTES_PER_TOKEN) + messages * MESSAGE_OVERHEAD + REQUEST_OVERHEAD


class BudgetReached(RuntimeError):
    """A request did not fit in what was left of its run's budget, so it was not sent (its step is skipped)."""

    @classmethod
    def of(cls, budget: RunBudget, reservation: Reservation) -> BudgetReached:
        """The refusal of ``reservation`` by ``budget``: what the request could need, what was spent of what."""
        need = f"{reservation.tokens:,} tokens" if budget.tokens is not None else f"${reservation.usd:,.4f}"
        return cls(f"{BUDGET_REACHED}: the next request could need up to {need}; "
                   f"{budget.spent_label} of {budget.limit_label} spent")


class BudgetFacts(BaseModel):
    """A run's budget and what it spent against it (in the report, the exports and the history)."""

    limit_tokens: int | None = None
    limit_usd: float | None = None
    spent_tokens: int = 0
    spent_usd: float | None = None
    estimated: bool = False
    """Some requests' tokens were estimated: the server reported none."""
    refused: int = 0
    """Requests not sent because they did not fit."""
    requests: int = 0
    """Requests sent under the budget (retries and repair requests included)."""
    undercount: int = 0
    """Tokens by which the server counted more than was reserved (the most the spend may exceed the budget)."""

    @property
    def reached(self) -> bool:
        """True when a request was not sent for want of budget."""
        return self.refused > 0

    @property
    def label(self) -> str:
        """E.g. "budget 9,812 of 10,000 tokens spent · budget reached: 2 requests not sent"."""
        limits = ([f"{self.limit_tokens:,} tokens"] if self.limit_tokens is not None else []) + \
                 ([f"${self.limit_usd:,.4f}"] if self.limit_usd is not None else [])
        spent = f"{'≈ ' if self.estimated else ''}{self.spent_tokens:,} tokens"
        if self.limit_usd is not None and self.spent_usd is not None:
            spent += f" (${self.spent_usd:,.4f})"
        text = f"budget: {spent} of {' and '.join(limits)} spent"
        if self.estimated:
            text += " (partly estimated: the server reported no usage)"
        if self.reached:
            text += f" · budget reached: {self.refused} request{'s' if self.refused != 1 else ''} not sent"
        if self.undercount:
            text += (f" · the server counted {self.undercount:,} tokens more than were reserved, so the spend may "
                     "exceed the budget by up to that")
        return text


@dataclass(frozen=True)
class Price:
    """USD per token, input and output."""

    input: float
    output: float

    @classmethod
    def per_million(cls, prices: tuple[float, float]) -> Price:
        """From USD per million input / output tokens."""
        return cls(prices[0] / 1_000_000, prices[1] / 1_000_000)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """What ``input_tokens`` and ``output_tokens`` cost."""
        return input_tokens * self.input + output_tokens * self.output


@dataclass
class Reservation:
    """One request's worst case, set aside until the request ends."""

    prompt_tokens: int
    output_tokens: int
    usd: float
    settled: bool = False
    shared: Any = None
    """Its reservation in the deployment's :class:`SharedBudget`, if any."""

    @property
    def tokens(self) -> int:
        """Prompt plus output tokens."""
        return self.prompt_tokens + self.output_tokens


class SharedBudget(Protocol):
    """A budget shared by the runs of a deployment (:class:`research.ledger.SpendLedger`: the daily budget)."""

    async def hold(self, tokens: int, price: Price | None, output_tokens: int = 0) -> Any:
        """Set aside a request's worst case; raises :class:`BudgetReached` when it cannot fit."""
        ...

    async def settle(self, hold: Any, tokens: int, usd: float) -> None:
        """Replace ``hold`` by what its request spent."""
        ...


@dataclass
class RunBudget:
    """The budget of one run (a report or a batch): tokens, USD, or both; use on one event loop."""

    tokens: int | None = None
    usd: float | None = None
    price: Price | None = None
    """Needed for a USD budget (see :func:`research.pricing.price_of`)."""
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False
    """True once a request's tokens had to be estimated (the server reported none)."""
    refused: int = 0
    """Requests not sent because they did not fit."""
    requests: int = 0
    """Requests sent under the budget (retries and repair requests included)."""
    undercount: int = 0
    """Tokens by which servers' exact counts exceeded the reservations: the most the spend can exceed the budget."""
    shared: SharedBudget | None = None
    """The deployment's budget, which every request of the run also reserves from."""
    _reserved_tokens: int = 0
    _reserved_usd: float = 0.0
    _writes: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _in_flight: int = 0
    _settled: asyncio.Condition | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.usd is not None and self.price is None:
            raise ValueError("a USD budget needs the model's price")

    @property
    def limited(self) -> bool:
        """True when there is any limit to keep (the run's own, or the deployment's)."""
        return self.tokens is not None or self.usd is not None or self.shared is not None

    @property
    def spent_tokens(self) -> int:
        """Input plus output tokens spent so far."""
        return self.input_tokens + self.output_tokens

    @property
    def spent_usd(self) -> float | None:
        """USD spent so far, where the price is known."""
        return self.price.cost(self.input_tokens, self.output_tokens) if self.price else None

    @property
    def spent_label(self) -> str:
        """E.g. "9,812 tokens ($0.0061)", with "≈" when some of it is estimated."""
        about = "≈ " if self.estimated else ""
        usd = self.spent_usd
        money = f" (${usd:,.4f})" if usd is not None and self.usd is not None else ""
        return f"{about}{self.spent_tokens:,} tokens{money}"

    @property
    def limit_label(self) -> str:
        """E.g. "10,000 tokens" or "$0.0500" or both."""
        parts = ([f"{self.tokens:,} tokens"] if self.tokens is not None else []) + \
                ([f"${self.usd:,.4f}"] if self.usd is not None else [])
        return " and ".join(parts) or "no limit"

    def _fits(self, reservation: Reservation) -> bool:
        if self.tokens is not None and self.spent_tokens + self._reserved_tokens + reservation.tokens > self.tokens:
            return False
        spent_usd = self.spent_usd or 0.0
        return self.usd is None or spent_usd + self._reserved_usd + reservation.usd <= self.usd

    async def reserve(self, prompt_tokens: int, output_tokens: int) -> Reservation:
        """Set aside a request's worst case, waiting while other requests are in flight; raises
        :class:`BudgetReached` when it cannot fit even with nothing else in flight."""
        usd = self.price.cost(prompt_tokens, output_tokens) if self.price else 0.0
        reservation = Reservation(prompt_tokens, output_tokens, usd)
        if not self.limited:
            self.requests += 1
            return reservation
        if self._settled is None:
            self._settled = asyncio.Condition()
        async with self._settled:
            while not self._fits(reservation):
                if self._in_flight == 0:
                    self.refused += 1
                    raise BudgetReached.of(self, reservation)
                await self._settled.wait()
            self._in_flight += 1
            self._reserved_tokens += reservation.tokens
            self._reserved_usd += reservation.usd
        if self.shared is not None:
            try:
                reservation.shared = await self.shared.hold(reservation.tokens, self.price, output_tokens)
            except BaseException as exc:  # refused, or the step was stopped while it waited: give the room back
                self.refused += isinstance(exc, BudgetReached)
                self._release(reservation)
                raise
        self.requests += 1
        return reservation

    def settle(self, reservation: Reservation, input_tokens: int, output_tokens: int, *, estimated: bool) -> None:
        """Replace ``reservation`` by what the request spent (``estimated``: counted here, not by the server)."""
        if reservation.settled:
            return
        reservation.settled = True
        self.undercount += max(0, input_tokens - reservation.prompt_tokens) + \
            max(0, output_tokens - reservation.output_tokens)
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.estimated = self.estimated or (estimated and input_tokens + output_tokens > 0)
        if not self.limited:
            return
        if self.shared is not None and reservation.shared is not None:
            usd = self.price.cost(input_tokens, output_tokens) if self.price else 0.0
            write = asyncio.ensure_future(self.shared.settle(reservation.shared, input_tokens + output_tokens, usd))
            self._writes.add(write)
            write.add_done_callback(self._writes.discard)
        self._release(reservation)

    def _release(self, reservation: Reservation) -> None:
        """Give back what ``reservation`` set aside, and wake the requests waiting for room."""
        self._in_flight -= 1
        self._reserved_tokens -= reservation.tokens
        self._reserved_usd -= reservation.usd
        if self._settled is not None:
            asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        assert self._settled is not None
        async with self._settled:
            self._settled.notify_all()

    async def flush(self) -> None:
        """Wait until the deployment's ledger has every settled request (call when the run ends)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def facts(self) -> BudgetFacts | None:
        """The budget and its spend for the run's result; None without a limit of the run's own."""
        if self.tokens is None and self.usd is None and not self.refused:
            return None
        return BudgetFacts(limit_tokens=self.tokens, limit_usd=self.usd, spent_tokens=self.spent_tokens,
                           spent_usd=self.spent_usd, estimated=self.estimated, refused=self.refused,
                           requests=self.requests, undercount=self.undercount)

    def count(self, input_tokens: int, output_tokens: int) -> None:
        """Count tokens the run spent before this process took it over (its steps recorded before a restart)."""
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
