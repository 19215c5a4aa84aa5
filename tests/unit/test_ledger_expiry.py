"""What may expire in a wallet (`expirable_parts`): expired free lots, never paid ones, never
what open holds will take."""

from __future__ import annotations

import datetime as dt

from core.domain.ledger import ExpiredPart, LotKind, LotView, expirable_parts, expiry_key

NOW = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
PAST = NOW - dt.timedelta(days=1)
LATER = NOW + dt.timedelta(days=1)


def free(lot_id: int, remaining: int, expires_at: dt.datetime | None) -> LotView:
    return LotView(lot_id, LotKind.FREE, remaining, expires_at)


def paid(lot_id: int, remaining: int) -> LotView:
    return LotView(lot_id, LotKind.PAID, remaining, None)


def test_an_expired_free_lot_expires_whole_and_nothing_else_does():
    lots = [free(1, 10, PAST), free(2, 3, LATER), free(3, 4, None), paid(4, 100)]
    assert expirable_parts(lots, 0, NOW) == [ExpiredPart(1, 10, 10)]


def test_a_lot_expiring_exactly_now_expires():
    assert expirable_parts([free(1, 5, NOW)], 0, NOW) == [ExpiredPart(1, 5, 5)]


def test_held_credits_come_off_the_earliest_lots_first_as_a_capture_would_take_them():
    lots = [free(1, 10, PAST - dt.timedelta(days=1)), free(2, 6, PAST), paid(3, 5)]
    assert expirable_parts(lots, 3, NOW) == [ExpiredPart(1, 10, 7), ExpiredPart(2, 6, 6)]
    assert expirable_parts(lots, 12, NOW) == [ExpiredPart(2, 6, 4)]
    assert expirable_parts(lots, 16, NOW) == []  # the paid lot is never used to cover an expiry


def test_a_wallet_whose_holds_exceed_its_lots_expires_nothing():
    assert expirable_parts([free(1, 4, PAST)], 9, NOW) == []


def test_each_step_of_a_lot_has_its_own_key():
    assert expiry_key(7, 10) == "expiry:7:10"
    assert ExpiredPart(7, 3, 3).key == "expiry:7:3"
