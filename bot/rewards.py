"""Wiring of the rewards area (daily credit, referrals, email verification, sharing, account
linking, support inbox, operator stats) and of the free-credit expiry.

Called from `bot.bootstrap.build_app` (the services), `bot.runtime` (the console commands, the
referral sweep with its payout notices, the expiry sweep when FREE_CREDIT_TTL_DAYS is set) and
`bot.cli` (`python -m bot stats`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapters.chat.catalogue import Catalogue
from adapters.chat.render_rewards import RewardRenderer
from adapters.email.smtp import SmtpConfig, SmtpEmailSender
from adapters.storage.bonuses import SqlBonusStore
from adapters.storage.database import Database
from adapters.storage.email_verification import SqlEmailStore
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.linking import SqlLinkStore
from adapters.storage.referral_notices import SqlReferralNoticeStore
from adapters.storage.referrals import SqlReferralStore
from adapters.storage.stats import SqlStatsStore
from adapters.storage.support import SqlSupportStore
from bot.config import Settings
from bot.periodic import Periodic
from core.codes import SecretCodes
from core.domain.jobs import JobState
from core.domain.rules import CreditRules
from core.ports import Clock, CodeSource, EmailSender, LastJob, OwnsJob, ReferralNotifier
from core.services.email import EmailVerificationService
from core.services.expiry import ExpiryService
from core.services.generation import GenerationService
from core.services.linking import LinkService
from core.services.offers import OfferService
from core.services.referrals import ReferralService
from core.services.rewards import RewardService
from core.services.stats import StatsService
from core.services.support import SupportService
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 60.0
# Free credits past their expiry stay spendable until the next sweep: at most this long.
EXPIRY_SWEEP_INTERVAL_SECONDS = 600.0


@dataclass
class RewardsParts:
    """The services the chat adapters call (see each service's docstrings)."""

    rules: CreditRules
    store: SqlBonusStore  # also who a person is now, after account linking
    bonuses: RewardService  # /daily, share bonus, next daily credit, gift cooldown
    referrals: ReferralService  # /refer, deep links, on_first_success
    email: EmailVerificationService  # /verify-email
    linking: LinkService  # /link
    support: SupportService  # /support, /admin reply, /admin tickets
    stats: StatsService  # /admin stats, python -m bot stats
    expiry: ExpiryService | None = None  # the free-credit expiry sweep (does nothing without a TTL)


def email_sender(settings: Settings, catalogue: Catalogue) -> EmailSender | None:
    """SMTP when SMTP_HOST is set, else None (email verification answers "not set up")."""
    if not settings.smtp_host:
        return None
    render = RewardRenderer(catalogue)
    config = SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.smtp_from or f"bot@{settings.smtp_host}",
        starttls=settings.smtp_starttls,
    )
    return SmtpEmailSender(config, render.email_message)


def build_rewards(
    settings: Settings,
    database: Database,
    ledger: SqlLedgerStore,
    wallets: WalletService,
    clock: Clock,
    catalogue: Catalogue,
    *,
    codes: CodeSource | None = None,
    sender: EmailSender | None = None,
    owns_job: OwnsJob | None = None,
    last_job: LastJob | None = None,
) -> RewardsParts:
    """`owns_job` / `last_job` come from the jobs area when it is wired (set them later with
    `parts.bonuses.owns_job = ...` / `parts.support.last_job = ...` if built after this)."""
    rules = wallets.rules
    store = SqlBonusStore(database, ledger)
    codes = codes or SecretCodes()
    sender = sender if sender is not None else email_sender(settings, catalogue)
    return RewardsParts(
        rules=rules,
        store=store,
        bonuses=RewardService(store, wallets, rules, clock, owns_job=owns_job),
        referrals=ReferralService(
            SqlReferralStore(database, ledger),
            wallets,
            rules,
            clock,
            codes,
            notices=SqlReferralNoticeStore(database),
        ),
        email=EmailVerificationService(SqlEmailStore(database, ledger), wallets, rules, clock, codes, sender),
        linking=LinkService(SqlLinkStore(database), wallets, rules, clock, codes),
        support=SupportService(SqlSupportStore(database, ledger), wallets, rules, clock, last_job=last_job),
        stats=StatsService(SqlStatsStore(database), rules, clock),
        expiry=ExpiryService(ledger, rules, clock),
    )


def add_referral_notifier(parts: RewardsParts, platform: str, notifier: ReferralNotifier) -> None:
    """A chat adapter that can message a person tells them about referral payouts (registered
    by the runtime next to the adapter, like its support replies)."""
    parts.referrals.add_platform(platform, notifier)


def connect_generation(parts: RewardsParts, generation: GenerationService, catalogue: Catalogue) -> None:
    """Plug the jobs area in: referral payouts on a first success, share ownership, and the
    last job on support tickets. Job rows keep the person id of the time; after an account
    link it is resolved to the person it is now."""

    async def first_success(person_id: int) -> None:
        await parts.referrals.on_first_success(person_id)

    async def owns_job(person_id: int, job_id: str) -> bool:
        view = await generation.job(job_id)
        if view is None or view.job.state != JobState.SUCCEEDED:
            return False
        current, _wallet = await parts.store.current_person(view.job.person_id)
        return current == person_id

    async def last_job(person_id: int) -> str | None:
        jobs = await generation.store.recent_of(person_id, limit=1)
        if not jobs:
            return None
        job = jobs[0]  # kept on the ticket as words: what the operator would have seen then
        return catalogue.text(
            "ticket_job",
            None,
            job=job.job_id,
            state=job.state,
            error=f" ({job.error})" if job.error else "",
            seconds=job.seconds,
            style=job.style,
            cost=job.cost,
            when=f"{job.created_at:%Y-%m-%d %H:%M} UTC" if job.created_at else "",
        )

    generation.on_first_success(first_success)
    parts.bonuses.owns_job = owns_job
    parts.support.last_job = last_job


def connect_offers(parts: RewardsParts, offers: OfferService) -> None:
    """The low/zero-balance offer shows when the next daily credit is due."""
    offers.next_daily_at = parts.bonuses.next_daily_for_person


class ReferralSweeper(Periodic):
    """Pays referral rewards that were waiting (new-account cooldown, today's free allowance)
    once a minute, and delivers the payout notices still due."""

    name = "referral-sweeper"

    def __init__(self, referrals: ReferralService, interval: float = SWEEP_INTERVAL_SECONDS) -> None:
        super().__init__(interval)
        self.referrals = referrals

    async def tick(self) -> None:
        await self.referrals.pay_due_referrals()


class ExpirySweeper(Periodic):
    """Only when FREE_CREDIT_TTL_DAYS is set: expires what is left of free lots past their
    expiry, every EXPIRY_SWEEP_INTERVAL_SECONDS."""

    name = "expiry-sweeper"

    def __init__(self, expiry: ExpiryService, interval: float = EXPIRY_SWEEP_INTERVAL_SECONDS) -> None:
        super().__init__(interval)
        self.expiry = expiry

    async def tick(self) -> None:
        await self.expiry.sweep()


async def print_stats(settings: Settings) -> int:
    """`python -m bot stats`: the operators' figures in the terminal."""
    from bot.bootstrap import build_app

    app = await build_app(settings)
    try:
        report = await app.rewards.stats.report()
        print(RewardRenderer(app.catalogue).stats(report))
    finally:
        await app.close()
    return 0
