"""Wiring of the generation jobs: the generator (Replicate with a token, else the local melody
synthesizer), the job store, the service, and the Replicate webhook hook for the web server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from adapters.audio import PyAVIntake
from adapters.localsynth import LocalSynthGenerator
from adapters.replicate import ReplicateGenerator, verify_replicate_webhook
from adapters.storage.database import Database
from adapters.storage.jobs import SqlJobStore
from adapters.storage.ledger import SqlLedgerStore
from bot.config import Settings
from core.domain.prompts import PromptPolicy
from core.domain.rules import CreditRules
from core.errors import InvalidWebhook
from core.ports import Clock
from core.services.generation import GenerationService, GenerationSettings
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)

RawWebhook = Callable[[bytes, Mapping[str, str]], Awaitable[None]]


@dataclass
class GenerationParts:
    service: GenerationService
    generator: ReplicateGenerator | LocalSynthGenerator
    intake_pool: ProcessPoolExecutor | None = None

    async def aclose(self) -> None:
        await self.service.stop()
        await self.generator.aclose()
        if self.intake_pool is not None:
            self.intake_pool.shutdown(wait=False, cancel_futures=True)


def intake_pool(settings: Settings) -> ProcessPoolExecutor | None:
    """Recordings are decoded in worker processes so the event loop keeps its GIL; `forkserver`
    because forking a process that runs threads (the database writer) is unsafe."""
    processes = settings.intake_processes
    if processes is None:
        processes = max(1, (os.cpu_count() or 2) - 1)
    if processes == 0:
        return None
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("forkserver"))


def webhook_url(settings: Settings) -> str | None:
    """Replicate is asked to call us only when we can be reached and can verify the call."""
    if settings.public_base_url and settings.replicate_webhook_secret and settings.replicate_api_token:
        return settings.public_base_url.rstrip("/") + "/webhooks/replicate"
    return None


def generation_settings(settings: Settings) -> GenerationSettings:
    return GenerationSettings(
        max_input_bytes=settings.max_input_bytes,
        max_input_seconds=float(settings.max_input_seconds),
        deadline=dt.timedelta(seconds=settings.job_deadline_seconds),
        max_concurrent=settings.max_concurrent_jobs,
        per_person=settings.max_jobs_per_person,
        poll_interval_seconds=settings.poll_interval_seconds,
        max_output_bytes=settings.max_output_bytes,
        webhook_url=webhook_url(settings),
        worker_id=(settings.worker_id or "").strip() or socket.gethostname()[:100],
        input_retention=dt.timedelta(hours=settings.input_retention_hours),
    )


def build_generator(settings: Settings) -> ReplicateGenerator | LocalSynthGenerator:
    if settings.replicate_api_token is not None and settings.replicate_api_token.get_secret_value():
        return ReplicateGenerator(
            api_token=settings.replicate_api_token.get_secret_value(),
            model_version_id=settings.replicate_model_version,
            base_url=settings.replicate_api_base,
            model_variant=settings.replicate_model_variant,
        )
    logger.info("no REPLICATE_API_TOKEN: generating with the local melody synthesizer")
    return LocalSynthGenerator(max_seconds=float(max(60, *settings.generation_costs)))


def build_generation(
    settings: Settings,
    database: Database,
    ledger: SqlLedgerStore,
    wallets: WalletService,
    rules: CreditRules,
    clock: Clock,
) -> GenerationParts:
    generator = build_generator(settings)
    pool = intake_pool(settings)
    job_settings = generation_settings(settings)
    if pool is not None:
        job_settings = dataclasses.replace(job_settings, intake_workers=pool._max_workers)
    if isinstance(generator, LocalSynthGenerator):  # asking an in-process generator is free
        job_settings = dataclasses.replace(
            job_settings, poll_interval_seconds=min(job_settings.poll_interval_seconds, 0.2)
        )
    service = GenerationService(
        store=SqlJobStore(database, ledger),
        ledger=ledger,
        wallets=wallets,
        intake=PyAVIntake(),
        generator=generator,
        rules=rules,
        clock=clock,
        settings=job_settings,
        prompts=PromptPolicy(blocked=settings.prompt_blocklist),
        intake_executor=pool,
    )
    return GenerationParts(service, generator, pool)


def replicate_webhook(service: GenerationService, settings: Settings) -> RawWebhook:
    """What the web server calls for `POST /webhooks/replicate`: verify, then apply once."""

    async def hook(body: bytes, headers: Mapping[str, str]) -> None:
        secret = settings.replicate_webhook_secret
        if secret is None or not secret.get_secret_value():
            raise InvalidWebhook("not_configured")
        status = verify_replicate_webhook(body, headers, secret.get_secret_value(), now=time.time())
        await service.on_prediction_update(status)

    return hook
