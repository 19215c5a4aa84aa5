"""Usage figures for operators (`/admin stats`, `python -m bot stats`).

Definitions (the same in code, the report and the notes):
- *new persons*: persons created in the window (a person merged into another by account
  linking is not counted);
- *generations*: delivered clips, i.e. `spend` transfers (captured holds) in the window;
- *credits granted by reason*: credits created from a system source in the window, grouped
  by reason (welcome, daily, referral, email, share, operator, purchase); gifts only move credits;
- *credits spent*: the sum of those spend transfers;
- *revenue*: the money the orders table says came in, per currency and pack. An order counts
  when its payment landed in the window (`paid_at`, set once when its credits were granted;
  Stripe and Telegram Stars alike), at the amount it recorded as paid (`amount`, minor units:
  cents, whole Stars) minus what the provider has returned on it so far (`amount_refunded` +
  `amount_disputed`, cumulative, capped at the amount). The orders table keeps no refund date,
  so a refund is subtracted from the window of the payment it returns, as of the report's
  time: a fully refunded order still counts as a purchase, for 0. Currencies are never added
  together (dollars and Stars stay apart);
- *conversion from free to paid*: persons whose first purchase falls in the window, divided by
  the persons who existed by the window's end and had bought nothing before its start;
- *came back after running out*: of the persons whose wallet *ran out* in the window (a spend
  left the posted balance below the cheapest clip), the share who made another generation
  after the first time they ran out in the window (at any time up to now);
- *per operation* (music, prompt, speech, voicetag): of the jobs created in the window, how many
  there were, how many delivered (succeeded), how many failed (failed or expired; a person's
  cancel is neither), and the credits the delivered ones cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.domain.rewards import Window


@dataclass(frozen=True)
class Sales:
    """The orders of one pack in one currency whose payment landed in a window."""

    currency: str  # as the order recorded it ("usd", "XTR")
    pack_id: str
    purchases: int  # orders paid, including those refunded since
    paid: int  # what they charged, minor units
    returned: int = 0  # refunded + disputed on them so far, at most `paid`


@dataclass(frozen=True)
class OperationStats:
    """One operation's jobs created in a window."""

    operation: str
    jobs: int
    succeeded: int
    failed: int
    credits: int  # the cost of the delivered ones


@dataclass(frozen=True)
class WindowStats:
    window: Window
    new_persons: int
    generations: int
    credits_spent: int
    granted_by_reason: dict[str, int] = field(default_factory=dict)
    sales: tuple[Sales, ...] = ()  # orders paid in the window, by currency and pack
    first_purchasers: int = 0
    free_base: int = 0
    ran_out: int = 0
    came_back: int = 0
    by_operation: tuple[OperationStats, ...] = ()  # sorted by operation name

    @property
    def conversion(self) -> float | None:
        return None if self.free_base == 0 else self.first_purchasers / self.free_base

    @property
    def came_back_share(self) -> float | None:
        return None if self.ran_out == 0 else self.came_back / self.ran_out


@dataclass(frozen=True)
class PackRevenue:
    pack_id: str
    purchases: int
    amount: int  # net of refunds and disputes, minor units of the currency
    returned: int = 0  # refunded + disputed, minor units


@dataclass(frozen=True)
class CurrencyRevenue:
    """Revenue in one currency (upper-case ISO code; "XTR" is Telegram Stars)."""

    currency: str
    packs: tuple[PackRevenue, ...]

    @property
    def amount(self) -> int:
        return sum(p.amount for p in self.packs)

    @property
    def returned(self) -> int:
        return sum(p.returned for p in self.packs)

    @property
    def purchases(self) -> int:
        return sum(p.purchases for p in self.packs)


def revenue(sales: tuple[Sales, ...]) -> tuple[CurrencyRevenue, ...]:
    """Net revenue per currency (sorted by code), each with its packs (sorted by id); the
    currency code is upper-cased, so "usd" and "USD" orders are one currency."""
    totals: dict[str, dict[str, tuple[int, int, int]]] = {}
    for s in sales:
        packs = totals.setdefault(s.currency.upper(), {})
        purchases, paid, returned = packs.get(s.pack_id, (0, 0, 0))
        packs[s.pack_id] = (purchases + s.purchases, paid + s.paid, returned + min(s.returned, s.paid))
    return tuple(
        CurrencyRevenue(
            currency,
            tuple(
                PackRevenue(pack_id, purchases, paid - returned, returned)
                for pack_id, (purchases, paid, returned) in sorted(packs.items())
            ),
        )
        for currency, packs in sorted(totals.items())
    )


@dataclass(frozen=True)
class WindowReport:
    stats: WindowStats
    revenue: tuple[CurrencyRevenue, ...]

    def revenue_in(self, currency: str) -> int:
        """Net revenue in one currency (minor units); 0 when nothing was sold in it."""
        return sum(r.amount for r in self.revenue if r.currency == currency.upper())


@dataclass(frozen=True)
class StatsReport:
    at: dt.datetime
    windows: tuple[WindowReport, ...]


def stats_report(at: dt.datetime, stats: Iterable[WindowStats]) -> StatsReport:
    """The report of the windows' figures read at `at` (each with its revenue per currency)."""
    return StatsReport(at, tuple(WindowReport(s, revenue(s.sales)) for s in stats))
