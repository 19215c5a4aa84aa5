"""The success metrics of a range, on SQLite and PostgreSQL, from a seeded history with known
answers (`insight_seed`)."""

from __future__ import annotations

import datetime as dt

from adapters.storage.insight import read_insight
from core.domain.insight import DayRange, Funnel, Retention, RevenueRow
from tests.integration.insight_seed import CHEAPEST, SPAN, seed


async def test_every_metric_of_the_seeded_range(database):
    await seed(database)
    figures = await read_insight(database, SPAN, CHEAPEST)

    daily = {d.day: (d.new_persons, d.clips, d.tickets) for d in figures.daily}
    assert len(figures.daily) == 10 and figures.daily[0].day == "2026-03-01"
    assert daily["2026-03-01"] == (1, 1, 0)  # ann welcomed; dan's clip
    assert daily["2026-03-02"] == (0, 1, 2)
    assert daily["2026-03-03"] == (1, 0, 0)  # bob at 23:59:30 ...
    assert daily["2026-03-04"] == (0, 1, 0)  # ... and his clip at 00:00:30 the next day
    assert daily["2026-03-06"] == (0, 0, 1)  # eve was linked into ann: not a new person
    assert sum(d.clips for d in figures.daily) == 5  # the failed job and February's clip do not count

    assert figures.retention == Retention(ran_out=3, came_back=1, paid=2)
    assert figures.usage == (("music", 5),)
    # each step counts those who reached every step before it: bob paid, but no offer to him is on record
    assert figures.funnel == Funnel(welcomed=4, first_clip=2, ran_out=2, offer_shown=1, paid=1)

    assert figures.support.tickets == 3
    assert figures.support.by_topic == (("clip", 1), ("other", 1), ("payment", 1))
    assert figures.support.answered == 2
    assert figures.support.median_first_reply == dt.timedelta(hours=2)

    assert figures.revenue == (
        RevenueRow("2026-03-04", "discord", "big", "USD", 1, 999),
        RevenueRow("2026-03-04", "stripe", "small", "USD", 1, 500),
        RevenueRow("2026-03-07", "stripe", "small", "USD", 1, 500),
        RevenueRow("2026-03-09", "stars", "small", "XTR", 1, 70),
    )
    assert figures.revenue_by("provider") == (
        ("discord", "USD", 1, 999),
        ("stars", "XTR", 1, 70),
        ("stripe", "USD", 2, 1000),
    )


async def test_a_one_day_range_cuts_at_utc_midnight(database):
    await seed(database)
    figures = await read_insight(database, DayRange(dt.date(2026, 3, 3), dt.date(2026, 3, 3)), CHEAPEST)
    assert [(d.day, d.new_persons, d.clips) for d in figures.daily] == [("2026-03-03", 1, 0)]
    assert figures.funnel.welcomed == 1 and figures.funnel.first_clip == 1  # bob's clip came later
    assert figures.retention.ran_out == 0 and figures.revenue == ()
