"""The periodic work, in one place: `Periodic` runs a tick every so often (the first at once, or
after one interval); a tick that starts failing is logged once and the next one comes all the same."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from core.ports import Clock
from core.services.expiry import ExpiryService
from core.services.outage import Outage
from core.services.payments import PaymentService
from core.services.referrals import ReferralService
from core.services.top_ups import TopUpService

logger = logging.getLogger(__name__)


class Periodic:
    name = "periodic"
    wait_first = False

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        if self.wait_first:
            await asyncio.sleep(self.interval)
        # A failing tick (the database is away) is logged once, and once more when it works again.
        outage = Outage(self.name, logger, first_wait=self.interval, max_wait=self.interval)
        while True:
            try:
                await self.tick()
            except Exception as error:
                outage.failed(error)
            else:
                outage.succeeded()
            await asyncio.sleep(self.interval)


class ReferralSweeper(Periodic):
    """Pays referral rewards that were waiting (new-account cooldown, today's free allowance)
    once a minute, and delivers the payout notices still due."""

    name = "referral-sweeper"

    def __init__(self, referrals: ReferralService, interval: float = 60.0) -> None:
        super().__init__(interval)
        self.referrals = referrals

    async def tick(self) -> None:
        await self.referrals.pay_due_referrals()


class ExpirySweeper(Periodic):
    """With FREE_CREDIT_TTL_DAYS set: moves what is left of expired free lots out of wallets.
    Free credits past their expiry stay spendable until the next sweep: at most `interval`."""

    name = "expiry-sweeper"

    def __init__(self, expiry: ExpiryService, interval: float = 600.0) -> None:
        super().__init__(interval)
        self.expiry = expiry

    async def tick(self) -> None:
        await self.expiry.sweep()


class PaymentReconciler(Periodic):
    """When Stripe is configured: every 15 minutes, fulfils paid Checkout sessions of the last
    day whose webhook never arrived. Fulfilment is keyed by session, so it is safe beside the
    webhooks and in every process at once."""

    name = "payment-reconciler"
    wait_first = True  # the webhooks come first; start-up stays quick

    def __init__(
        self,
        payments: PaymentService,
        clock: Clock,
        *,
        interval: float = 15 * 60.0,
        lookback: dt.timedelta = dt.timedelta(hours=26),  # Checkout sessions live 24 h at most
    ) -> None:
        super().__init__(interval)
        self.payments = payments
        self.clock = clock
        self.lookback = lookback

    async def tick(self) -> None:
        report = await self.payments.reconcile(self.clock.now() - self.lookback)
        if report.fulfilled or report.closed:
            logger.warning(
                "reconciled missed Stripe webhooks: fulfilled %s, closed %s",
                " ".join(report.fulfilled) or "-",
                " ".join(report.closed) or "-",
            )


class Shelf(Protocol):
    def sweep(self) -> int: ...


class FileSweeper(Periodic):
    """Deletes kept files past their time (recordings waiting for a press, clip links) every hour;
    a request for an expired one deletes it too."""

    name = "file-sweeper"

    def __init__(self, shelves: Sequence[Shelf], interval: float = 3600.0) -> None:
        super().__init__(interval)
        self.shelves = shelves

    async def tick(self) -> None:
        for shelf in self.shelves:
            try:
                await asyncio.to_thread(shelf.sweep)
            except OSError:
                logger.warning("sweeping old files failed", exc_info=True)


class TopUpSweeper(Periodic):
    """When automatic top-up is on: every minute, calls Stripe for top-ups decided but never sent
    (a crash between the commit and the call). The call reuses the top-up's idempotency key, so
    it never makes a second payment."""

    name = "top-up-sweeper"
    wait_first = True

    def __init__(self, top_ups: TopUpService, interval: float = 60.0) -> None:
        super().__init__(interval)
        self.top_ups = top_ups

    async def tick(self) -> None:
        tried = await self.top_ups.sweep()
        if tried:
            logger.warning("sent %d automatic top-ups whose Stripe call was lost", tried)


class StatisticsKeeper(Periodic):
    """On PostgreSQL: every few seconds, analyzes the tables that changed much since their last
    ANALYZE, so the planner never works from an empty table's statistics under a burst."""

    name = "statistics-keeper"
    wait_first = True

    def __init__(self, analyze: Callable[[], Awaitable[list[str]]], interval: float = 2.0) -> None:
        super().__init__(interval)
        self.analyze = analyze

    async def tick(self) -> None:
        analyzed = await self.analyze()
        if analyzed:
            logger.debug("analyzed %s", ", ".join(analyzed))
