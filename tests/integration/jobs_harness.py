"""What the job tests share: a service over a real database, a notifier that records what a chat
adapter would have shown, and a fake Replicate driven through the real `replicate` client."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from adapters.audio import PyAVIntake
from adapters.replicate import ReplicateGenerator
from adapters.storage.database import Database
from adapters.storage.jobs import SqlJobStore
from adapters.storage.ledger import SqlLedgerStore
from core.clock import ManualClock
from core.domain.jobs import Job, JobState
from core.domain.ledger import Balance, HoldState
from core.domain.pricing import PackTable, Pricing
from core.domain.rules import CreditRules
from core.ports import MusicGenerator
from core.services.generation import GenerationService, GenerationSettings
from core.services.job_runner import SuccessHook
from core.services.wallets import WalletService
from tests.audio_samples import A4, C5, hum_clip
from tests.fakes.edges import RecordingNotifier
from tests.fakes.replicate_fake import FakeReplicate

RULES = CreditRules(pricing=Pricing({5: 1, 10: 2, 15: 3, 30: 5}), packs=PackTable(()))
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HUM = hum_clip([(A4, 0.75), (C5, 0.75)])  # a real 1.5 s voice note (OGG/Opus)


def fast_settings(**overrides: Any) -> GenerationSettings:
    values: dict[str, Any] = {
        "poll_interval_seconds": 0.01,
        "dispatch_interval_seconds": 0.05,
        "sweep_interval_seconds": 3600.0,  # tests call sweep() themselves
        "max_concurrent": 4,
        "per_person": 2,
    }
    values.update(overrides)
    return GenerationSettings(**values)


def build_service(
    database: Database,
    generator: MusicGenerator,
    clock: ManualClock,
    *,
    settings: GenerationSettings | None = None,
    notifier: RecordingNotifier | None = None,
    rules: CreditRules = RULES,
    on_success: SuccessHook | None = None,
    providers: dict[str, MusicGenerator] | None = None,
) -> GenerationService:
    ledger = SqlLedgerStore(database)
    return GenerationService(
        store=SqlJobStore(database, ledger),
        ledger=ledger,
        wallets=WalletService(ledger, rules, clock),
        intake=PyAVIntake(),
        generator=generator,
        rules=rules,
        clock=clock,
        settings=settings or fast_settings(),
        notifier=notifier,
        on_success=on_success,
        providers=providers,
    )


def replicate_for(fake: FakeReplicate, **overrides: Any) -> ReplicateGenerator:
    async def no_wait(_seconds: float) -> None:
        await asyncio.sleep(0)

    values: dict[str, Any] = {
        "api_token": fake.api_token,
        "base_url": fake.base_url,
        "model_version_id": fake.model_version_id,
        "http_timeout_seconds": 5.0,
        "sleep": no_wait,
        "compute_micros_per_second": 1_400,  # an A100's price: each run's cost is recorded
    }
    values.update(overrides)
    return ReplicateGenerator(**values)


async def wait_until(predicate: Callable[[], Awaitable[bool] | bool], within: float = 10.0) -> None:
    """Wait for a condition (re-checked every few ms), failing the test after `within` s."""
    async with asyncio.timeout(within):
        while True:
            result = predicate()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            await asyncio.sleep(0.005)


async def job_in(service: GenerationService, job_id: str, *states: JobState) -> bool:
    view = await service.job(job_id)
    return view is not None and view.job.state in states


async def wait_for_state(service: GenerationService, job_id: str, *states: JobState, within: float = 10.0) -> Job:
    await wait_until(lambda: job_in(service, job_id, *states), within)
    view = await service.job(job_id)
    assert view is not None
    return view.job


async def hold_state(service: GenerationService, job_id: str) -> HoldState | None:
    hold = await service.ledger.get_hold(f"hold:{job_id}")
    return None if hold is None else hold.state


async def spends(database: Database, job_id: str) -> int:
    from sqlalchemy import bindparam, func, select

    from adapters.storage.sql import Statement, scalar
    from adapters.storage.tables import transfers

    count = Statement(select(func.count()).select_from(transfers).where(transfers.c.key == bindparam("key")))
    return int(await database.read(lambda c: scalar(c, count, key=f"spend:hold:{job_id}")))


@dataclass
class Stack:
    """One bot process's generation side over a database, with a fake Replicate behind it."""

    database: Database
    fake: FakeReplicate
    clock: ManualClock
    notifier: RecordingNotifier
    generator: ReplicateGenerator
    service: GenerationService

    @property
    def ledger(self) -> Any:
        return self.service.ledger

    async def balance(self, identity: Any) -> Balance:
        person = await self.service.wallets.person(identity)
        return await self.service.ledger.balance(person.wallet_id)

    async def submit(
        self,
        identity: Any,
        seconds: int = 10,
        style: str = "warm piano",
        request_id: str | None = None,
        audio: bytes = HUM,
    ) -> Any:
        return await self.service.submit(
            identity,
            audio,
            style,
            seconds,
            platform="console",
            reply_to={"chat": identity.key},
            request_id=request_id or uuid.uuid4().hex,
        )

    async def close(self) -> None:
        await self.service.stop(grace_seconds=0)
        await self.generator.aclose()


async def open_stack(
    database: Database,
    fake: FakeReplicate,
    clock: ManualClock,
    *,
    on_success: SuccessHook | None = None,
    **settings: Any,
) -> Stack:
    notifier = RecordingNotifier()
    generator = replicate_for(fake)
    service = build_service(
        database,
        generator,
        clock,
        settings=fast_settings(**settings),
        notifier=notifier,
        on_success=on_success,
    )
    return Stack(database, fake, clock, notifier, generator, service)


def simulated_seconds(clock: ManualClock) -> Callable[[], float]:
    """The fake's clock, reading the same simulated time as the service."""
    return lambda: clock.now().timestamp()


@dataclass
class Life:
    """One run of the bot process, for tests that end it mid-step and start another."""

    database: Database
    service: GenerationService
    notifier: RecordingNotifier
    generator: Any = None

    async def die(self) -> None:
        await self.service.stop(grace_seconds=0)  # cancel whatever it was doing, mid-step
        await self.database.close()
