"""The success metrics on the dashboard and in `python -m bot stats --days N`: the same figures
from the seeded history, and every kind of bad range answered with a 400 page or a clamp,
never a 500 and never unescaped."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest

from bot import cli
from tests.integration.insight_seed import MARKUP_TICKET, history
from tests.integration.test_dashboard import TOKEN, Browser, browser  # noqa: F401 - the fixture

SEEDED = "/dashboard?from=2026-03-01&to=2026-03-10"


def _values(body: str, chart: str) -> list[int]:
    """The data values of one chart's marks, in order."""
    start = body.index(f'aria-label="{chart}"')
    end = body.index("</svg>", start)
    return [int(v) for v in re.findall(r'data-value="(\d+)"', body[start:end])]


async def test_the_charts_carry_the_seeded_figures(browser: Browser):  # noqa: F811
    await browser.app.database.write(history)

    page = await browser.get(SEEDED)

    assert page.status == 200, page.body
    assert "Success metrics 2026-03-01 to 2026-03-10 (UTC, 10 days)" in page.body
    daily = _values(page.body, "Every day")
    assert len(daily) == 30  # three series of ten days
    assert daily[:10] == [1, 0, 1, 0, 1, 0, 1, 0, 0, 0]  # new persons (eve was linked: not counted)
    assert daily[10:20] == [1, 1, 0, 1, 1, 0, 0, 0, 1, 0]  # clips
    assert daily[20:] == [0, 2, 0, 0, 0, 1, 0, 0, 0, 0]  # tickets
    assert _values(page.body, "Funnel (people welcomed in the range)") == [4, 2, 2, 1, 1]
    assert _values(page.body, "Revenue by pack USD") == [999, 1000]
    assert _values(page.body, "Revenue by pack XTR") == [70]
    paragraphs = page.paragraphs()
    assert "3 ran out · 1 came back within 7 days (33%) · 2 paid since (67%)" in paragraphs
    assert "3 tickets · 2 answered · median time to the first reply: 2 h 00 min" in paragraphs
    assert "By topic: clips 1, other 1, payments 1" in paragraphs
    assert "music 5" in paragraphs
    assert "discord: USD 9.99 (×1) · stars: XTR 70 ⭐ (×1) · stripe: USD 10.00 (×2)" in paragraphs
    rows = page.tables()["Revenue per day"]
    assert rows[0] == ["Day", "Provider", "Pack", "Orders", "Revenue"]
    assert rows[1:] == [
        ["2026-03-04", "discord", "big", "1", "USD 9.99"],
        ["2026-03-04", "stripe", "small", "1", "USD 5.00"],
        ["2026-03-07", "stripe", "small", "1", "USD 5.00"],
        ["2026-03-09", "stars", "small", "1", "XTR 70 ⭐"],
    ]
    assert "<script>alert" not in page.body  # the seeded ticket's markup never reaches the page as markup


async def test_the_terminal_prints_what_the_dashboard_shows(
    browser: Browser,  # noqa: F811
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    await browser.app.database.write(history)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("DATA_DIR", str(browser.app.settings.data_dir))
    assert await asyncio.to_thread(cli.main, ["stats", "--days", "366"]) == 0
    printed = capsys.readouterr().out
    page = await browser.get("/dashboard?days=366")

    assert page.status == 200
    lines = [p for p in page.paragraphs() if "ran out ·" in p or "tickets ·" in p or p.startswith("By topic")]
    assert len(lines) == 3
    for line in lines:
        assert line in printed
    welcomed, first_clip, ran_out, shown, paid = _values(page.body, "Funnel (people welcomed in the range)")
    assert (welcomed, first_clip, ran_out, shown, paid) == (5, 3, 3, 1, 1)  # dan (February) is in the year
    assert "Funnel (people welcomed in the range): Welcomed 5 → First clip 3 (60% of the step before)" in printed
    assert "→ Offer shown 1 (33% of the step before) → Paid 1 (100% of the step before)" in printed
    assert "2026-03-09 stars small ×1 XTR 70 ⭐" in printed
    assert MARKUP_TICKET not in printed  # tickets are counted, not printed
    assert await asyncio.to_thread(cli.main, ["stats", "--days", "0"]) == 2


BAD_RANGES = [
    ("from=2026-03-10&to=2026-03-01", "the first day is after the last."),
    ("from=2024-01-01&to=2025-06-01", "a range may be at most a year (366 days)."),
    ("from=2026-02-30", "dates are written YYYY-MM-DD."),
    ("from=%3Cscript%3Ealert(1)%3C/script%3E", "dates are written YYYY-MM-DD."),
    ("to=%22%3E%3Cimg%20src=x%3E", "dates are written YYYY-MM-DD."),
    ("days=0", "days must be a whole number from 1 to 366."),
    ("days=%3Cb%3E9%3C/b%3E", "days must be a whole number from 1 to 366."),
    ("days=99999999999999999999", "days must be a whole number from 1 to 366."),
]
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])  # refused before any SQL runs


@SQLITE_ONLY
async def test_a_bad_range_is_a_clear_400_page(browser: Browser):  # noqa: F811
    for query, reason in BAD_RANGES:
        page = await browser.get(f"/dashboard?{query}")
        assert page.status == 400, (query, page.body)
        assert f"That date range can&#39;t be shown: {reason}" in page.body, query
        assert "<script" not in page.body and "<img" not in page.body and "<b>" not in page.body
        assert "Traceback" not in page.body


@SQLITE_ONLY
async def test_a_future_end_is_clamped_to_today(browser: Browser):  # noqa: F811
    today = dt.datetime.now(dt.UTC).date()
    page = await browser.get(f"/dashboard?from={today - dt.timedelta(days=2)}&to=2999-01-01")
    assert page.status == 200
    assert f"to {today} (UTC, 3 days)" in page.body
    assert f'name="to" value="{today}"' in page.body


@SQLITE_ONLY
async def test_a_malformed_token_is_refused(browser: Browser):  # noqa: F811
    for header in ("Basic <script>", "Basic " + "A" * 5000, "Basic dXNlcg==", "Digest x"):
        page = await browser.get(password=None, Authorization=header)
        assert page.status == 401, header
        assert "<script" not in page.body
