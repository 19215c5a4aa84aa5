"""Three `python -m bot` processes started at the same moment on a fresh PostgreSQL database:
the migrations run once, under an advisory lock, and every process comes up."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest

from bench.common import scratch_postgres
from bench.scale import healthy, start_bots, stop_bots
from tests.fakes.telegram_fake import FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 3


@pytest.mark.postgres
async def test_three_processes_started_together_on_a_fresh_database_all_come_up(tmp_path):
    async with FakeBotAPI() as fake, scratch_postgres(migrated=False) as fresh:  # no schema at all
        env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
        env.update(
            PYTHONPATH=str(ROOT),
            LOG_LEVEL="WARNING",
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.base_url,
            DATABASE_URL=fresh,
            TELEGRAM_WEBHOOK_URL="http://127.0.0.1:9/webhooks/telegram",  # a balancer would be here
            TELEGRAM_WEBHOOK_SECRET="start-secret",
        )
        bots = await start_bots(PROCESSES, env, tmp_path)  # all three at once
        try:
            await fake.wait_for("setWebhook", count=PROCESSES, timeout=60)
            await asyncio.gather(*(healthy(port, 30) for _, port in bots))  # raises if one never answers
            assert [bot.returncode for bot, _ in bots] == [None] * PROCESSES  # none crashed
        finally:
            outputs = await stop_bots(bots)
        errors = [err.decode() for _, err in outputs]
        assert [bot.returncode for bot, _ in bots] == [0] * PROCESSES, [e[-2000:] for e in errors]
        assert not [e for e in errors if "Traceback" in e or "deadlock detected" in e]
        admin = await asyncpg.connect(fresh.replace("+asyncpg", ""))
        try:
            assert await admin.fetchval("SELECT count(*) FROM alembic_version") == 1
        finally:
            await admin.close()
