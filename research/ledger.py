"""The deployment's daily budget: what every process on one database spent today, and what is set aside.

``RESEARCH_DAILY_BUDGET_TOKENS`` / ``RESEARCH_DAILY_BUDGET_USD`` hold for the
whole deployment: every process sharing the database (PostgreSQL for
replicas, or the SQLite file of one data folder) keeps one ledger. Like a
run's budget (:mod:`research.core.budget`), each model request first sets
aside its worst case here, in one transaction that sees every other
process's reservations, and settles with what it spent. A day is a UTC date;
the budget resets at 00:00 UTC. A reservation a crashed process left behind
stops counting after :data:`STALE_AFTER` seconds.

With sign-in, ``RESEARCH_USER_DAILY_BUDGET_TOKENS`` / ``_USD`` hold for each
person: a ledger of their own (:meth:`SpendLedger.for_person`, its rows keyed
by the day and the person), which a request of theirs must fit as well as the
deployment's (:class:`Ledgers`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from research.core.budget import BUDGET_REACHED, BudgetReached, Price

STALE_AFTER = 900.0
"""Seconds after which a reservation no request settled (its process died) stops counting."""
RECHECK_SECONDS = 0.2
"""How often a request that does not fit yet looks again while other requests of the deployment are in flight."""
LONGEST_WAIT = 120.0
"""Seconds a request waits for room at most; then it is refused as if nothing else were in flight."""
_METADATA = sa.MetaData()
_USD = sa.Double().with_variant(sa.REAL(), "sqlite")
_DAYS = sa.Table("spend_days", _METADATA, sa.Column("day", sa.Text, primary_key=True),
                 sa.Column("tokens", sa.BigInteger, nullable=False), sa.Column("usd", _USD, nullable=False))
_HELD = sa.Table("spend_reservations", _METADATA, sa.Column("id", sa.Text, primary_key=True),
                 sa.Column("day", sa.Text, nullable=False), sa.Column("tokens", sa.BigInteger, nullable=False),
                 sa.Column("usd", _USD, nullable=False), sa.Column("created_at", _USD, nullable=False))


def today(now: float | None = None) -> str:
    """Today's UTC date, e.g. "2026-12-05"."""
    return dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC).date().isoformat()


def resets_in(now: float | None = None) -> str:
    """When the daily budget resets, for people: "at 00:00 UTC (in 3 h 12 min)"."""
    moment = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC)
    midnight = dt.datetime.combine(moment.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    minutes = int((midnight - moment).total_seconds() // 60)
    return f"at 00:00 UTC (in {minutes // 60} h {minutes % 60} min)"


class DailyBudgetSpent(RuntimeError):
    """A new job was refused: the deployment's (or the person's) daily budget is spent. The message names the
    limit and the reset."""


@dataclass(frozen=True)
class Hold:
    """A request's reservation in the ledger."""

    id: str
    day: str
    """The ledger row it counts against: the UTC date, and for a person's ledger the person too."""
    tokens: int
    usd: float


class SpendLedger:
    """The daily spend of a deployment (or, ``person`` given, of one person) in its database (SQLAlchemy
    ``engine``), with the daily limits."""

    def __init__(self, engine: sa.Engine, *, tokens: int | None = None, usd: float | None = None,
                 person: str | None = None) -> None:
        self.engine, self.tokens, self.usd, self.person = engine, tokens, usd, person
        for attempt in range(5):  # another process may be creating the tables at the same moment
            try:
                with engine.begin() as conn:
                    _METADATA.create_all(conn, checkfirst=True)
                break
            except sa.exc.DBAPIError:
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def for_person(self, person: str, *, tokens: int | None, usd: float | None) -> SpendLedger:
        """The ledger of one person (an :class:`research.owners.Owner` id) in the same database."""
        return SpendLedger(self.engine, tokens=tokens, usd=usd, person=person)

    def _row(self, day: str) -> str:
        """The ledger's row of ``day``: the date for the deployment, "<date> <person>" for a person."""
        return day if self.person is None else f"{day} {self.person}"

    @property
    def whose(self) -> str:
        """Whose budget this is, for messages."""
        return "this deployment" if self.person is None else "your account"

    @property
    def limit_label(self) -> str:
        """E.g. "200,000 tokens" or "$5.00" or both."""
        parts = ([f"{self.tokens:,} tokens"] if self.tokens is not None else []) + \
                ([f"${self.usd:,.2f}"] if self.usd is not None else [])
        return " and ".join(parts)

    def spent(self, day: str | None = None) -> tuple[int, float]:
        """Tokens and USD spent on ``day`` (default: today), settled requests only."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_DAYS.c.tokens, _DAYS.c.usd)
                               .where(_DAYS.c.day == self._row(day or today()))).first()
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    def check_open(self) -> None:
        """Raise :class:`DailyBudgetSpent` when nothing is left of today's budget (a new job would not start)."""
        tokens, usd = self.spent()
        if (self.tokens is not None and tokens >= self.tokens) or (self.usd is not None and usd >= self.usd):
            raise DailyBudgetSpent(f"The daily budget of {self.whose} ({self.limit_label}) is spent: "
                                   f"{tokens:,} tokens (${usd:,.2f}) today. It resets {resets_in()}.")

    def _insert_day(self, day: str) -> sa.Insert:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(_DAYS).values(day=day, tokens=0, usd=0.0).on_conflict_do_nothing()

    def _try_hold(self, tokens: int, usd: float) -> tuple[Hold | None, bool]:
        """Set aside ``tokens`` and ``usd`` if they fit today; else (None, whether others are in flight)."""
        day, now = self._row(today()), time.time()
        with self.engine.begin() as conn:
            conn.execute(self._insert_day(day))  # a write first: SQLite takes its lock, so the rest is serialised
            spent = conn.execute(sa.select(_DAYS.c.tokens, _DAYS.c.usd).where(_DAYS.c.day == day)
                                 .with_for_update()).one()  # PostgreSQL: the day's row is locked until commit
            conn.execute(sa.delete(_HELD).where(_HELD.c.created_at < now - STALE_AFTER))
            held = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(_HELD.c.tokens), 0),
                                          sa.func.coalesce(sa.func.sum(_HELD.c.usd), 0.0))
                                .where(_HELD.c.day == day)).one()
            over_tokens = self.tokens is not None and spent[0] + held[1] + tokens > self.tokens
            over_usd = self.usd is not None and spent[1] + held[2] + usd > self.usd
            if over_tokens or over_usd:
                return None, held[0] > 0
            hold = Hold(secrets.token_hex(8), day, tokens, usd)
            conn.execute(sa.insert(_HELD).values(id=hold.id, day=day, tokens=tokens, usd=usd, created_at=now))
        return hold, False

    async def hold(self, tokens: int, price: Price | None, output_tokens: int = 0) -> Hold:
        """Set aside a request's worst case (``tokens``, of which ``output_tokens`` are output; ``price`` for USD),
        waiting while other requests of the deployment are in flight; raises :class:`BudgetReached` when it
        cannot fit."""
        usd = price.cost(tokens - output_tokens, output_tokens) if price else 0.0
        give_up = time.monotonic() + LONGEST_WAIT
        while True:
            hold, others = await asyncio.to_thread(self._try_hold, tokens, usd)
            if hold is not None:
                return hold
            if not others or time.monotonic() > give_up:
                whose = "the deployment's" if self.person is None else "your"
                raise BudgetReached(f"{BUDGET_REACHED}: {whose} daily budget ({self.limit_label}) "
                                    f"has no room for the next request; it resets {resets_in()}")
            await asyncio.sleep(RECHECK_SECONDS)

    async def settle(self, hold: Hold, tokens: int, usd: float) -> None:
        """Replace ``hold`` by what its request spent."""
        def write() -> None:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(_HELD).where(_HELD.c.id == hold.id))
                conn.execute(self._insert_day(hold.day))
                conn.execute(sa.update(_DAYS).where(_DAYS.c.day == hold.day)
                             .values(tokens=_DAYS.c.tokens + tokens, usd=_DAYS.c.usd + usd))
        await asyncio.to_thread(write)


class Ledgers:
    """Several daily budgets a request must fit at once (the deployment's and its person's): a shared budget
    (:class:`research.core.budget.SharedBudget`) that holds on each in turn and settles on each."""

    def __init__(self, *ledgers: SpendLedger) -> None:
        self.ledgers = ledgers

    def check_open(self) -> None:
        """Raise :class:`DailyBudgetSpent` when any of the budgets is spent."""
        for ledger in self.ledgers:
            ledger.check_open()

    async def hold(self, tokens: int, price: Price | None, output_tokens: int = 0) -> list[tuple[SpendLedger, Hold]]:
        """Set aside the request's worst case in every ledger; :class:`BudgetReached` (and nothing held) when one
        has no room."""
        held: list[tuple[SpendLedger, Hold]] = []
        try:
            for ledger in self.ledgers:
                held.append((ledger, await ledger.hold(tokens, price, output_tokens)))
        except BaseException:
            for ledger, hold in held:  # the request is not sent: what was set aside is given back
                await ledger.settle(hold, 0, 0.0)
            raise
        return held

    async def settle(self, hold: Any, tokens: int, usd: float) -> None:
        """Replace each of the request's reservations by what it spent."""
        for ledger, one in hold:
            await ledger.settle(one, tokens, usd)
