"""The offer and the account views in the console chat, on the real composition root (SQLite,
the local melody synthesizer) with a settable clock: out of credits the refusal names the packs,
the next daily credit and support; /daily that leaves the balance low offers the packs; /balance
shows the next daily credit and the jobs running; /history the jobs with what each cost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.console import ConsoleChat
from bot.bootstrap import App, build_app
from bot.config import load_settings
from core.clock import ManualClock
from core.domain.identity import Identity
from tests.audio_samples import hum_clip
from tests.e2e.console_kit import console_chat
from tests.integration.rewards_kit import START

ME = Identity("console", "tester")


@dataclass
class Console:
    app: App
    chat: ConsoleChat
    hum: Path


async def console(sqlite_url: str, tmp_path: Path, **overrides: object) -> Console:
    settings = load_settings(
        _env_file=None,
        database_url=sqlite_url,
        data_dir=str(tmp_path / "data"),
        replicate_api_token=None,
        new_account_cooldown_minutes=0,
        **overrides,
    )
    app = await build_app(settings, clock=ManualClock(START))
    hum = tmp_path / "hum.ogg"
    hum.write_bytes(hum_clip())
    return Console(app, console_chat(app, ME), hum)


@pytest.fixture
async def broke(sqlite_url, tmp_path) -> AsyncIterator[Console]:
    made = await console(sqlite_url, tmp_path, welcome_credits=0)
    yield made
    await made.app.close()


@pytest.fixture
async def rich(sqlite_url, tmp_path) -> AsyncIterator[Console]:
    made = await console(sqlite_url, tmp_path)
    yield made
    await made.app.close()


async def test_out_of_credits_refusal_names_the_packs_the_next_daily_credit_and_support(broke):
    refusal = await broke.chat.handle(f"/generate {broke.hum} piano 10")
    assert refusal.startswith("That costs 2 credits and you have 0.\nYou're out of credits!")
    assert "Starter: 100 credits for $5" in refusal
    assert "Your next free daily credit: now (use /daily)." in refusal  # claimable now
    assert "/support" in refusal
    assert await broke.app.generation.jobs(ME) == []
    assert await broke.app.ledger.audit() == []


async def test_daily_that_leaves_the_balance_low_offers_the_packs(broke):
    before = await broke.chat.handle("/balance")
    assert "Next free daily credit: now (use /daily)" in before
    assert before.count("daily credit:") == 1  # the offer does not say it twice

    daily = await broke.chat.handle("/daily")
    assert daily.startswith("+1 daily credit! You have 1 credits. Next one: 2026-03-11 00:00 UTC.")
    assert "You have 1 credit left. Buy more to keep creating!" in daily
    assert "Starter: 100 credits for $5" in daily

    after = await broke.chat.handle("/balance")
    assert "Next free daily credit: 2026-03-11 00:00 UTC" in after


async def test_balance_shows_jobs_running_and_history_what_each_job_cost(rich):
    chat = rich.chat
    # The job workers are not started: the jobs wait in the queue, holding their credits.
    accepted = await chat.handle(f"/generate {rich.hum} lofi 15 --no-wait")
    assert "3 credits held · 7 left to use" in accepted
    [first] = [view.job.job_id for view in await rich.app.generation.jobs(ME)]
    balance = await chat.handle("/balance")
    assert "Credits: 7 (10 free, 0 paid) · 3 held for running jobs" in balance
    assert f"{first} · 15 s lofi · queued (#1 in line) · 3 credits held" in balance

    await chat.handle(f"/cancel {first}")
    await chat.handle(f"/generate {rich.hum} piano 5 --no-wait")
    [second] = [view.job.job_id for view in await rich.app.generation.jobs(ME)]
    history = await chat.handle("/history")
    assert "Your last clips:" in history
    assert f"{second} · 5 s piano · queued · 1 credit held" in history
    assert f"{first} · 15 s lofi · canceled · not charged" in history
    assert "+10 welcome credits" in history
    assert await rich.app.ledger.audit() == []
