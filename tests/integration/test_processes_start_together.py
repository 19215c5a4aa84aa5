"""Three `python -m bot` processes started at the same moment on a fresh PostgreSQL database:
the migrations run once, under an advisory lock, and every process comes up."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bench.scale import free_port, healthy
from tests.conftest import PG_ADMIN_DSN, pg_url
from tests.fakes.telegram_fake import FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 3


@pytest.fixture
async def fresh_postgres() -> AsyncIterator[str]:
    """An empty database: no schema at all, as on an operator's first start."""
    name = f"bot_fresh_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield pg_url(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.postgres
async def test_three_processes_started_together_on_a_fresh_database_all_come_up(tmp_path, fresh_postgres):
    async with FakeBotAPI() as fake:
        ports = [free_port() for _ in range(PROCESSES)]
        procs = []
        for i, port in enumerate(ports):
            env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
            env.update(
                PYTHONPATH=str(ROOT),
                LOG_LEVEL="WARNING",
                TELEGRAM_BOT_TOKEN=fake.token,
                TELEGRAM_API_BASE_URL=fake.base_url,
                DATABASE_URL=fresh_postgres,
                DATA_DIR=str(tmp_path / f"data{i}"),
                WEB_PORT=str(port),
                TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhooks/telegram",
                TELEGRAM_WEBHOOK_SECRET="start-secret",
            )
            procs.append(
                asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    cwd=tmp_path,
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            )
        bots = await asyncio.gather(*procs)  # all three at once
        try:
            await fake.wait_for("setWebhook", count=PROCESSES, timeout=60)
            await asyncio.gather(*(healthy(port, 30) for port in ports))  # raises if one never answers
            assert [bot.returncode for bot in bots] == [None] * PROCESSES  # none crashed
        finally:
            for bot in bots:
                if bot.returncode is None:
                    bot.send_signal(signal.SIGTERM)
            outputs = await asyncio.gather(*(asyncio.wait_for(bot.communicate(), 30) for bot in bots))
        errors = [err.decode() for _, err in outputs]
        assert [bot.returncode for bot in bots] == [0] * PROCESSES, [e[-2000:] for e in errors]
        assert not [e for e in errors if "Traceback" in e or "deadlock detected" in e]
    admin = await asyncpg.connect(fresh_postgres.replace("+asyncpg", ""))
    try:
        assert await admin.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await admin.close()
