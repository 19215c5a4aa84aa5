"""Helpers the benchmark commands share: a scratch database on either backend, peak RSS, a chat
adapter that accepts every clip."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from adapters.storage.migrations import upgrade
from core.domain.generation import GeneratedClip
from core.domain.jobs import Job, JobProgress
from core.domain.ledger import Balance
from core.domain.offers import Offer
from core.errors import BotError

PG_ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.asynccontextmanager
async def scratch_sqlite() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await upgrade(url)
        yield url


@contextlib.asynccontextmanager
async def scratch_postgres(*, migrated: bool = True) -> AsyncIterator[str]:
    """A new PostgreSQL database (at the latest migration, or empty), dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{base}/{name}"
    try:
        if migrated:
            await upgrade(url)
        yield url
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass
class CountingNotifier:
    """A chat adapter that accepts every clip at once."""

    delivered: int = 0
    failures: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0

    async def progress(self, job: Job, progress: JobProgress) -> None:
        return None

    async def deliver(self, job: Job, clip: GeneratedClip) -> bool:
        return bool(clip.audio)

    async def finished(self, job: Job, charged: int, balance: Balance, offer: Offer | None) -> None:
        self.delivered += 1
        self._check()

    async def failed(self, job: Job, error: BotError, balance: Balance) -> None:
        self.failures.append(error.code)
        self._check()

    def _check(self) -> None:
        if self.delivered + len(self.failures) >= self.expected:
            self.done.set()
