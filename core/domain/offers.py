"""What to offer a person whose balance ran low: the same for every chat adapter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.domain.ledger import Balance
from core.domain.pricing import Pack
from core.domain.rules import CreditRules


@dataclass(frozen=True)
class Offer:
    """Shown after an operation that leaves `available` at or below the threshold."""

    available: int
    out_of_credits: bool
    packs: tuple[Pack, ...]
    next_daily_at: dt.datetime | None  # when the next free daily credit can be claimed
    contact_support: bool = True
    stars_packs: tuple[Pack, ...] = ()  # the same packs priced in Telegram Stars (when sold)
    daily_due: bool = False  # the daily credit can be claimed now


def daily_due(next_daily_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether the daily credit due at `next_daily_at` (None: never) can be claimed at `now`."""
    return next_daily_at is not None and next_daily_at <= now


def offer_for(
    balance: Balance,
    rules: CreditRules,
    next_daily_at: dt.datetime | None = None,
    *,
    packs: tuple[Pack, ...] | None = None,
    stars_packs: tuple[Pack, ...] = (),
    now: dt.datetime | None = None,
) -> Offer | None:
    """The offer for a low `balance` (None when it is not low); `now` tells whether the daily
    credit can be claimed already; `packs` are the wallet's (default: the rules')."""
    available = balance.available
    if available > rules.low_balance_threshold:
        return None
    return Offer(
        available=max(available, 0),
        out_of_credits=available <= 0,
        packs=rules.packs.packs if packs is None else packs,
        next_daily_at=next_daily_at,
        stars_packs=stars_packs,
        daily_due=now is not None and daily_due(next_daily_at, now),
    )


def next_utc_midnight(now: dt.datetime) -> dt.datetime:
    day = now.astimezone(dt.UTC).date() + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
