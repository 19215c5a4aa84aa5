"""Unit economics where an operator meets them: `/admin user` (what a person's free use cost),
`python -m bot economics`, and the warning at start when a price loses money."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot import cli
from bot.bootstrap import App, build_app
from bot.config import load_settings
from bot.runtime import warn_losing_prices
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.jobs import JobState
from tests.audio_samples import tone_clip
from tests.e2e.console_kit import console_chat
from tests.integration.jobs_harness import wait_until
from tests.integration.rewards_kit import START


@pytest.fixture
async def app(sqlite_url, tmp_path) -> AsyncIterator[App]:
    settings = load_settings(_env_file=None, database_url=sqlite_url, data_dir=str(tmp_path), operator_ids="console:op")
    app = await build_app(settings, clock=ManualClock(START))
    await app.generation.start()
    yield app
    await app.close()


async def billed_clip(app: App, tmp_path, cost_micros: int) -> str:
    """A delivered 10 s clip of console:ann's (2 of her welcome credits), billed as a provider would."""
    hum = tmp_path / "hum.ogg"
    hum.write_bytes(tone_clip((440.0, 523.0), seconds=2.0))
    await console_chat(app, "console:ann").handle(f"/generate {hum} piano 10 --no-wait")
    person = await app.wallets.person(Identity("console", "ann"))
    [job] = await app.generation.store.recent_of(person.person_id, limit=1)

    async def done() -> bool:
        found = await app.generation.store.get(job.job_id)
        return found is not None and found.state == JobState.SUCCEEDED

    await wait_until(done, within=30)
    await app.generation.store.record_cost(job.job_id, cost_micros)
    return job.job_id


async def test_admin_user_says_what_a_persons_free_use_has_cost(app, tmp_path):
    await billed_clip(app, tmp_path, 90_000)
    user = await console_chat(app, "console:op").handle("/admin user console:ann")
    assert "console:ann: 8 credits" in user
    assert "Their free use has cost $0.0900 at the provider" in user


async def test_a_losing_price_is_logged_at_start(app, tmp_path, caplog):
    await billed_clip(app, tmp_path, 200_000)  # 2 credits bring at most 2 × 3.25 cents at the Stars pack
    with caplog.at_level(logging.WARNING, logger="bot.runtime"):
        await warn_losing_prices(app)
    [warning] = [r.getMessage() for r in caplog.records if r.name == "bot.runtime"]
    assert warning.startswith("⚠ music 10 s loses money: it costs $0.2000 a run on average")
    assert "It breaks even at $0.1000 per credit." in warning


async def test_a_winning_price_logs_nothing(app, tmp_path, caplog):
    await billed_clip(app, tmp_path, 1_000)
    with caplog.at_level(logging.WARNING, logger="bot.runtime"):
        await warn_losing_prices(app)
    assert [r for r in caplog.records if r.name == "bot.runtime"] == []


def test_python_m_bot_economics_prints_the_report(sqlite_url, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert cli.main(["economics", "--days", "7"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Unit economics, ") and "By operation and length:" in out
    assert "  overall: 0 jobs · 0 credits · cost $0.0000 · revenue $0.0000" in out
    assert cli.main(["economics", "--days", "0"]) == 2
    assert "--days must be a whole number from 1 to 3650" in capsys.readouterr().err


async def test_the_dashboard_shows_the_unit_economics_of_its_range_and_the_losing_price(app, tmp_path):
    from adapters.web.dashboard import page
    from core.domain.insight import last_days

    await billed_clip(app, tmp_path, 200_000)
    hooks = app.web_hooks
    assert hooks.dashboard is not None and hooks.dashboard_words is not None
    data = await hooks.dashboard(last_days(7, START.date()))
    html = page(data, hooks.dashboard_words, str(START.date()))
    assert "Unit economics: what the clips cost, what their credits brought in" in html
    assert '<td>music 10 s</td><td class="n">1</td><td class="n">2</td><td class="n">$0.2000</td>' in html
    assert "⚠ music 10 s loses money: it costs $0.2000 a run on average" in html
