"""The success metrics for any range of UTC days, as values, and the rules that read them.

Definitions (the same in the query module `adapters/storage/insight.py`, the terminal report
and the dashboard):
- a *range* is whole UTC calendar days, first to last, both included; it may not be reversed
  or longer than `MAX_RANGE_DAYS`; a last day in the future is clamped to today;
- *running out*: a spend (a delivered clip) left the person's posted balance below the
  cheapest clip; a person's *first* running out in the range is the one counted;
- *retention after running out*: of the persons who ran out in the range, who spent again
  (came back) within `COMEBACK_WINDOW` of running out, and who paid an order after it (any
  time up to now);
- *support*: tickets opened per day and by topic (`ticket_topic`, from the words of the
  ticket), and the time from a ticket to the first operator reply (answered tickets only);
- *feature usage*: delivered clips (succeeded jobs) per operation;
- *the funnel*: of the persons welcomed (created) in the range, how many then made a first
  clip, of those how many ran out, of those how many were shown an offer, of those how many
  paid. Each step counts only persons who reached every step before it (up to now). "Offer
  shown" is None while offers are not recorded;
- *revenue*: orders paid in the range, per UTC day of payment, provider and pack, net of what
  was refunded or disputed on them (capped at the amount), per currency (never added across).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_RANGE_DAYS = 366  # "no longer than a year", leap years included
COMEBACK_WINDOW = dt.timedelta(days=7)
DEFAULT_RANGE_DAYS = 30
OPERATIONS_UNTRACKED = "music"  # jobs carry no operation yet: every job is a music clip


class RangeProblem(ValueError):
    """A date range that cannot be read; `reason` is a catalogue key suffix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # malformed | reversed | too_long


@dataclass(frozen=True)
class DayRange:
    first: dt.date
    last: dt.date  # included

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.first.year, self.first.month, self.first.day, tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the range (exclusive)."""
        return self.start + dt.timedelta(days=self.days)

    def each_day(self) -> tuple[str, ...]:
        return tuple((self.first + dt.timedelta(days=n)).isoformat() for n in range(self.days))


def last_days(days: int, today: dt.date) -> DayRange:
    """The last `days` UTC days, today included (clamped to 1..MAX_RANGE_DAYS)."""
    days = min(max(days, 1), MAX_RANGE_DAYS)
    return DayRange(today - dt.timedelta(days=days - 1), today)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(text: str) -> dt.date:
    if not _DATE.match(text):
        raise RangeProblem("malformed")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RangeProblem("malformed") from None


def parse_range(first: str | None, last: str | None, today: dt.date) -> DayRange:
    """A range as typed (`YYYY-MM-DD`, either may be missing): missing → the last
    `DEFAULT_RANGE_DAYS` days up to `last`; a last day after today → today (a first day after
    today too). Raises RangeProblem for a malformed date, a reversed range or one longer than
    a year."""
    last_day = min(_date(last), today) if last else today
    first_day = min(_date(first), today) if first else last_day - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first_day > last_day:
        raise RangeProblem("reversed")
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        raise RangeProblem("too_long")
    return DayRange(first_day, last_day)


# --- support topics --------------------------------------------------------------------------

TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("payment", ("pay", "paid", "refund", "charge", "card", "stripe", "star", "purchase", "bought", "money", "order")),
    ("clip", ("clip", "job", "music", "song", "sound", "audio", "fail", "stuck", "error", "hum", "record")),
    ("credits", ("credit", "balance", "daily", "bonus", "free", "referr", "gift")),
    ("account", ("link", "email", "account", "verify", "code")),
)
OTHER_TOPIC = "other"


def ticket_topic(text: str) -> str:
    """The topic of a ticket, from its words: the first topic whose word stems appear."""
    words = re.findall(r"[a-z]+", text.lower())
    for topic, stems in TOPICS:
        if any(word.startswith(stem) for word in words for stem in stems):
            return topic
    return OTHER_TOPIC


# --- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayFigures:
    day: str  # YYYY-MM-DD
    new_persons: int = 0
    clips: int = 0
    tickets: int = 0


@dataclass(frozen=True)
class Retention:
    ran_out: int
    came_back: int  # within COMEBACK_WINDOW
    paid: int  # an order paid after running out

    def share(self, part: int) -> float | None:
        return None if self.ran_out == 0 else part / self.ran_out


@dataclass(frozen=True)
class SupportFigures:
    tickets: int
    by_topic: tuple[tuple[str, int], ...]  # most first, then by name
    answered: int
    median_first_reply: dt.timedelta | None  # of answered tickets


@dataclass(frozen=True)
class Funnel:
    welcomed: int
    first_clip: int
    ran_out: int
    offer_shown: int | None  # None while offers shown are not recorded
    paid: int

    def steps(self) -> tuple[tuple[str, int | None], ...]:
        return (
            ("welcomed", self.welcomed),
            ("first_clip", self.first_clip),
            ("ran_out", self.ran_out),
            ("offer_shown", self.offer_shown),
            ("paid", self.paid),
        )


@dataclass(frozen=True)
class RevenueRow:
    day: str
    provider: str  # stripe | stars | discord
    pack_id: str
    currency: str  # upper case
    orders: int
    amount: int  # net, minor units


@dataclass(frozen=True)
class Insight:
    range: DayRange
    daily: tuple[DayFigures, ...]  # every day of the range, in order
    retention: Retention
    support: SupportFigures
    usage: tuple[tuple[str, int], ...]  # operation → delivered clips, most first
    funnel: Funnel
    revenue: tuple[RevenueRow, ...]  # by day, provider, pack

    def revenue_by(self, field: str) -> tuple[tuple[str, str, int, int], ...]:
        """(key, currency, orders, amount) summed over the range by `provider` or `pack_id`."""
        totals: dict[tuple[str, str], tuple[int, int]] = {}
        for row in self.revenue:
            key = (str(getattr(row, field)), row.currency)
            orders, amount = totals.get(key, (0, 0))
            totals[key] = (orders + row.orders, amount + row.amount)
        return tuple((key, cur, o, a) for (key, cur), (o, a) in sorted(totals.items()))

    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted({row.currency for row in self.revenue}))


def support_figures(
    tickets: Iterable[tuple[str, dt.datetime, dt.datetime | None]],
) -> SupportFigures:
    """From (text, opened at, first operator reply at or None) of each ticket in the range."""
    topics: dict[str, int] = {}
    waits: list[dt.timedelta] = []
    count = 0
    for text, opened, replied in tickets:
        count += 1
        topic = ticket_topic(text)
        topics[topic] = topics.get(topic, 0) + 1
        if replied is not None:
            waits.append(max(replied - opened, dt.timedelta(0)))
    waits.sort()
    median: dt.timedelta | None = None
    if waits:
        middle = len(waits) // 2
        median = waits[middle] if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2
    by_topic = tuple(sorted(topics.items(), key=lambda item: (-item[1], item[0])))
    return SupportFigures(count, by_topic, len(waits), median)


def days_filled(
    span: DayRange, new_persons: dict[str, int], clips: dict[str, int], tickets: dict[str, int]
) -> tuple[DayFigures, ...]:
    """One row for every day of the range (0 where nothing happened)."""
    return tuple(
        DayFigures(day, new_persons.get(day, 0), clips.get(day, 0), tickets.get(day, 0)) for day in span.each_day()
    )
