"""The composition root: the one place that builds every object, by constructor, in dependency
order, and registers the chat platforms this deployment runs.

    app = await build_app(settings)          # the database must be migrated first
    async with app.running():                # platforms first, then workers, web server, sweeps
        ...
    await app.close()

Tests call `build_app` with their own clock, generator or code source.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from adapters.audio import FileHandoffIntake, PyAVIntake
from adapters.chat.admin import AdminChat
from adapters.chat.catalogue import Catalogue
from adapters.chat.conversation import Conversation
from adapters.chat.experiments import ExperimentWords
from adapters.chat.generation import GenerationChat
from adapters.chat.jobs import JobNotices
from adapters.chat.language import LanguageChat
from adapters.chat.notices import ChatNotices
from adapters.chat.offers import Offers, Shop
from adapters.chat.payments import PaymentsChat
from adapters.chat.platform import ChatPlatform, Platforms, StopsReceiving
from adapters.chat.progress import ProgressChat
from adapters.chat.rewards import RewardsChat
from adapters.chat.servers import ServersChat
from adapters.chat.speech import SpeechChat
from adapters.chat.stats import StatsWords
from adapters.chat.styles import BUTTON_STYLES
from adapters.chat.support import SupportChat, SupportWords
from adapters.chat.top_ups import TopUpChat
from adapters.chat.wallet import WalletChat
from adapters.chat.words import Words
from adapters.console import CONSOLE_USER_ID, ConsolePlatform
from adapters.discord import DISCORD_USER_ID
from adapters.email.smtp import SmtpConfig, SmtpEmailSender
from adapters.localsynth import LocalSynthGenerator
from adapters.speech import local_speech_generator, local_voice_tag_generator
from adapters.storage.bonuses import SqlBonusStore
from adapters.storage.dashboard import read_dashboard
from adapters.storage.database import Database
from adapters.storage.economics import SqlEconomicsReads
from adapters.storage.email_verification import SqlEmailStore
from adapters.storage.jobs import SqlJobStore
from adapters.storage.languages import SqlLanguageStore
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.linking import SqlLinkStore
from adapters.storage.metrics import read_figures
from adapters.storage.offers import SqlOfferStore
from adapters.storage.payments import SqlPaymentStore
from adapters.storage.progress import SqlProgressStore
from adapters.storage.referral_notices import SqlReferralNoticeStore
from adapters.storage.referrals import SqlReferralStore
from adapters.storage.statistics import analyze_grown_tables
from adapters.storage.stats import SqlStatsStore
from adapters.storage.support import SqlSupportStore
from adapters.storage.top_ups import SqlTopUpStore
from adapters.telegram import TELEGRAM_USER_ID
from adapters.web import Dashboard, WebHooks
from adapters.web.hooks import Figures, RawWebhook
from bot.config import Settings, public_base_url, web_enabled
from bot.periodic import (
    ExpirySweeper,
    FileSweeper,
    PaymentReconciler,
    Periodic,
    ReferralSweeper,
    StatisticsKeeper,
    TopUpSweeper,
)
from bot.processes import WorkerLanes, stop_pool, worker_pool
from core.clock import SystemClock
from core.codes import SecretCodes
from core.domain.economics import micros
from core.domain.experiments import card_currency, experiment_report, stored_experiment
from core.domain.identity import IdentityFormats
from core.domain.insight import DayRange
from core.domain.jobs import JobState
from core.domain.operations import OperationName
from core.domain.prompts import PromptPolicy
from core.domain.rewards import stats_windows
from core.domain.stats import stats_report
from core.domain.top_ups import TopUpLimits
from core.errors import InvalidWebhook
from core.ports import (
    AudioIntake,
    BonusStore,
    Clock,
    CodeSource,
    EconomicsReads,
    EmailSender,
    EmailStore,
    ExpiryStore,
    JobStore,
    LanguageStore,
    LedgerStore,
    LinkStore,
    MusicGenerator,
    OfferStore,
    PaymentGateway,
    PaymentStore,
    ProgressStore,
    ReferralNoticeStore,
    ReferralStore,
    SavedCards,
    StatsStore,
    SupportStore,
    TopUpStore,
)
from core.services.economics import EconomicsService
from core.services.email import EmailVerificationService
from core.services.experiments import ExperimentService
from core.services.expiry import ExpiryService
from core.services.generation import GenerationService, GenerationSettings
from core.services.languages import LanguageService
from core.services.linking import LinkService
from core.services.offers import OfferService
from core.services.payments import CheckoutUrls, PaymentService
from core.services.progress import ProgressService
from core.services.referrals import ReferralService
from core.services.rewards import DailySchedule, RewardService
from core.services.server_wallets import ServerWalletService
from core.services.stats import StatsService
from core.services.store_purchases import StorePurchases
from core.services.support import SupportService
from core.services.top_ups import TopUpService
from core.services.wallets import WalletService

if TYPE_CHECKING:
    # Loaded only when configured (Stripe keys, a web port): a console bot carries neither.
    from adapters.stripe import StripeCheckout
    from adapters.web import WebServer

logger = logging.getLogger(__name__)

DASHBOARD_TICKETS = 100  # open tickets listed on GET /dashboard, oldest first (the page gives the total)
# Every platform a deployment knows, with the shape of its user ids (operators name people of
# any of them, linked accounts span them), whether or not this process runs it.
IDENTITIES = IdentityFormats({"console": CONSOLE_USER_ID, "telegram": TELEGRAM_USER_ID, "discord": DISCORD_USER_ID})


@dataclass(frozen=True)
class Rewards:
    """The rewards area's services."""

    bonuses: RewardService
    referrals: ReferralService
    email: EmailVerificationService
    linking: LinkService
    support: SupportService
    stats: StatsService
    expiry: ExpiryService


@dataclass
class App:
    settings: Settings
    clock: Clock
    database: Database | None
    ledger: AuditedLedger
    catalogue: Catalogue
    words: Words
    wallets: WalletService
    payments: PaymentService
    experiments: ExperimentService
    stripe: StripeCheckout | None
    server_wallets: ServerWalletService
    rewards: Rewards
    generation: GenerationService
    generator: MusicGenerator
    conversation: Conversation
    platforms: Platforms
    web_hooks: WebHooks
    web: WebServer | None
    sweeps: list[Periodic] = field(default_factory=list)
    providers: dict[str, MusicGenerator] = field(default_factory=dict)  # of the other operations
    worker_pool: ProcessPoolExecutor | None = None  # decodes recordings, renders local audio
    top_ups: TopUpService | None = None
    economics: EconomicsService | None = None

    @property
    def chats(self) -> list[ChatPlatform]:
        return self.platforms.all()

    def components(self) -> list[ChatPlatform | GenerationService | WebServer | Periodic]:
        """In start order: the chat platforms first (resumed jobs can deliver, and jobs ending
        during shutdown still reach their person), then the job workers, the web server, sweeps."""
        web = [self.web] if self.web is not None else []
        return [*self.chats, self.generation, *web, *self.sweeps]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        started: list[ChatPlatform | GenerationService | WebServer | Periodic] = []
        try:
            for component in self.components():
                await component.start()
                started.append(component)
            yield
        finally:
            # Stop taking updates first; jobs in flight may still deliver while the rest stops.
            for component in started:
                if isinstance(component, StopsReceiving):
                    try:
                        await component.stop_receiving()
                    except Exception:
                        logger.exception("stopping updates of %s failed", type(component).__name__)
            for component in reversed(started):
                try:
                    await component.stop()
                except Exception:
                    logger.exception("stopping %s failed", type(component).__name__)

    async def close(self) -> None:
        await self.generation.stop()  # unfinished jobs resume at the next start
        await self.generator.aclose()
        for provider in self.providers.values():
            await provider.aclose()
        if self.worker_pool is not None:
            await stop_pool(self.worker_pool)
        if self.stripe is not None:
            await self.stripe.aclose()
        if self.database is not None:
            await self.database.close()


@dataclass(frozen=True)
class Stores:
    """One store per storage port (SQL in production, in-memory fakes in unit tests)."""

    ledger: AuditedLedger
    jobs: JobStore
    payments: PaymentStore
    bonuses: BonusStore
    referrals: ReferralStore
    notices: ReferralNoticeStore
    email: EmailStore
    links: LinkStore
    support: SupportStore
    stats: StatsStore
    languages: LanguageStore
    offers: OfferStore
    progress: ProgressStore
    top_ups: TopUpStore | None = None  # automatic top-up (None: not offered)
    economics: EconomicsReads | None = None  # SQL only: the unit economics replay the ledger's rows


@dataclass(frozen=True)
class ReadModels:
    """What the operators' pages read straight from the database (absent without one)."""

    health: Callable[[], Awaitable[bool]]
    metrics: Callable[[], Awaitable[Figures]]
    dashboard: Callable[[DayRange], Awaitable[Dashboard]]


async def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    generator: MusicGenerator | None = None,
    codes: CodeSource | None = None,
    email_sender: EmailSender | None = None,
) -> App:
    """Everything on the configured database (migrated first), with the chat platforms the
    settings configure: Telegram, Discord, or else the console."""
    clock = clock or SystemClock()
    database = Database(
        settings.database_url,
        postgres_writers=settings.database_writers,
        postgres_connections=settings.database_connections,
    )
    await database.start()
    ledger = SqlLedgerStore(database)
    await ledger.prepare()  # system accounts exist (committed) before any movement names them
    economics_reads = SqlEconomicsReads(database)
    stores = Stores(
        ledger=ledger,
        jobs=SqlJobStore(database, ledger),
        payments=SqlPaymentStore(database, ledger),
        bonuses=SqlBonusStore(database, ledger),
        referrals=SqlReferralStore(database, ledger),
        notices=SqlReferralNoticeStore(database),
        email=SqlEmailStore(database, ledger),
        links=SqlLinkStore(database),
        support=SqlSupportStore(database, ledger),
        stats=SqlStatsStore(database),
        languages=SqlLanguageStore(database),
        offers=SqlOfferStore(database),
        top_ups=SqlTopUpStore(database),
        economics=economics_reads,
        progress=SqlProgressStore(database, ledger),
    )

    async def health() -> bool:
        await database.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar())
        return True

    cheapest_clip = settings.credit_rules().pricing.cheapest
    experiment_currency = card_currency(settings.credit_rules().packs)

    economics = economics_service(settings, economics_reads, clock)

    async def dashboard(span: DayRange) -> Dashboard:
        now = clock.now()
        windows = stats_windows(now)
        spent = (span.start, min(span.end, now), economics.warning_since(now))
        rows = await read_dashboard(database, now, windows, span, cheapest_clip, DASHBOARD_TICKETS, spent)
        assert rows.economics is not None
        margin = economics.margin(rows.economics, span.start, min(span.end, now))
        losing = tuple(economics.losing_in(rows.economics.recent))
        experiment = None
        if rows.experiment is not None:
            definition, started, stopped, counts = rows.experiment
            arms = stored_experiment(definition, started, stopped, currency=experiment_currency)
            experiment = experiment_report(arms, counts)
        return Dashboard(
            stats_report(now, rows.windows), rows.figures, rows.tickets, rows.insight, margin, losing, experiment
        )

    reads = ReadModels(health, lambda: read_figures(database, clock.now()), dashboard)
    return compose(
        settings,
        stores,
        clock=clock,
        generator=generator,
        codes=codes,
        email_sender=email_sender,
        database=database,
        reads=reads,
    )


def compose(
    settings: Settings,
    stores: Stores,
    *,
    clock: Clock | None = None,
    generator: MusicGenerator | None = None,
    providers: Mapping[str, MusicGenerator] | None = None,
    codes: CodeSource | None = None,
    email_sender: EmailSender | None = None,
    checkout: PaymentGateway | None = None,
    cards: SavedCards | None = None,
    database: Database | None = None,
    reads: ReadModels | None = None,
) -> App:
    """The object graph over any stores, by constructor, in dependency order (unit tests pass
    in-memory stores and no database, and may pass a `checkout` gateway and saved `cards` instead
    of Stripe's)."""
    clock = clock or SystemClock()
    codes = codes or SecretCodes()
    ledger = stores.ledger
    rules = settings.credit_rules()

    # --- the words, and the platforms notices go through --------------------------------------
    catalogue = Catalogue()
    words = Words(catalogue)
    platforms = Platforms()
    support_words = SupportWords(words)
    languages = LanguageService(stores.languages, catalogue.languages)
    notices = ChatNotices(platforms, words, support_words, language_of=languages.language_of)

    # --- core -------------------------------------------------------------------------------
    stars = settings.stars_pack_table
    schedule = DailySchedule(stores.bonuses, rules, clock)
    experiments = ExperimentService(stores.offers, rules, clock, stars_packs=stars)
    upsell_days = settings.upsell_window_days
    offers = OfferService(
        rules,
        stars_packs=stars,
        next_daily_at=schedule.next_for_person,
        clock=clock,
        experiments=experiments,
        history=stores.offers,
        upsell_window=dt.timedelta(days=upsell_days) if upsell_days else None,
    )
    wallets = WalletService(ledger, rules, clock, offers, identities=IDENTITIES)

    async def owns_job(person_id: int, job_id: str) -> bool:
        """A clip the person made (also one made before an account link merged them)."""
        job = await stores.jobs.get_of(job_id, person_id)
        return job is not None and job.state == JobState.SUCCEEDED

    async def last_job(person_id: int) -> str | None:
        recent = await stores.jobs.recent_of(person_id, limit=1)
        return support_words.last_job(recent[0]) if recent else None

    bonuses = RewardService(stores.bonuses, wallets, rules, clock, owns_job=owns_job, schedule=schedule)
    referrals = ReferralService(
        stores.referrals, wallets, rules, clock, codes, notices=stores.notices, notifier=notices
    )
    rewards = Rewards(
        bonuses=bonuses,
        referrals=referrals,
        email=EmailVerificationService(
            stores.email, wallets, rules, clock, codes, email_sender or smtp_sender(settings, words)
        ),
        linking=LinkService(stores.links, wallets, rules, clock, codes),
        support=SupportService(
            stores.support, wallets, rules, clock, inbox=notices, replies=notices, last_job=last_job
        ),
        stats=StatsService(stores.stats, rules, clock),
        expiry=ExpiryService(ledger, rules, clock),
    )
    stripe = stripe_checkout(settings)
    base = public_base_url(settings)
    payments = PaymentService(
        stores.payments,
        wallets,
        rules,
        clock,
        gateway=checkout or stripe,
        urls=CheckoutUrls(f"{base}/checkout/success", f"{base}/checkout/cancel"),
        stars_packs=stars,
        offers=offers,
        checkout_ttl=dt.timedelta(minutes=settings.checkout_expiry_minutes),
        experiments=experiments,
    )
    top_ups = (
        TopUpService(
            stores.top_ups,
            payments,
            wallets,
            clock,
            TopUpLimits(
                per_day=settings.auto_topup_max_per_day,
                per_month=settings.auto_topup_max_per_month_cents,
                max_threshold=settings.auto_topup_max_threshold,
            ),
            cards=cards or (stripe if stripe is not None and stripe.configured else None),
            notifier=notices,
        )
        if stores.top_ups is not None
        else None
    )
    progress = ProgressService(
        stores.progress,
        wallets,
        rules,
        clock,
        styles=frozenset(style.prompt for style in BUTTON_STYLES),
    )

    server_wallets = ServerWalletService(
        ledger,
        wallets,
        clock,
        can_receive_gift=bonuses.ensure_can_receive_gift,
        buy=payments.buy,
        stars=payments.stars_invoice,
    )

    # --- the conversation ---------------------------------------------------------------------
    shop = Shop(payments, settings.discord_skus)
    store = StorePurchases(stores.payments, wallets, rules.packs.packs, settings.discord_skus, clock)
    chat_offers = Offers(words, shop)
    progress_chat = ProgressChat(words, progress)
    prices = settings.operation_prices()
    speech_policy = settings.speech_policy()
    job_notices = JobNotices(
        platforms,
        words,
        chat_offers,
        rules.pricing,
        available=ledger.balance,
        voices=speech_policy.keys,
        voice_tag_cost=prices.voice_tag,
        prompt_pricing=prices.prompt,
        celebrate=progress_chat.after_clip,
    )
    pool = worker_pool_for(settings)
    lanes = None if pool is None else WorkerLanes(pool)
    generator = generator or build_generator(settings, lanes)
    providers = {**build_providers(settings, generator, lanes), **(providers or {})}
    generation = GenerationService(
        store=stores.jobs,
        ledger=ledger,
        wallets=wallets,
        intake=intake_for(settings, lanes),
        generator=generator,
        rules=rules,
        clock=clock,
        settings=generation_settings(settings, generator, lanes),
        prompts=PromptPolicy(blocked=settings.prompt_blocklist),
        on_success=referrals.on_success,
        notifier=job_notices,
        offers=offers,
        prices=prices,
        speech=speech_policy,
        providers=providers,
        after_capture=top_ups.after_capture if top_ups is not None and top_ups.enabled else None,
    )
    payments_chat = PaymentsChat(words, payments, server_wallets, shop, chat_offers, store if store.skus else None)
    top_up_chat = TopUpChat(words, top_ups) if top_ups is not None else None
    rewards_chat = RewardsChat(
        words, bonuses, referrals, rewards.email, rewards.linking, chat_offers, progress=progress_chat
    )
    support_chat = SupportChat(words, rewards.support, support_words)
    stats_words = StatsWords(catalogue)
    economics = economics_service(settings, stores.economics, clock) if stores.economics is not None else None
    generation_chat = GenerationChat(words, generation, wallets, job_notices, rules.pricing)
    conversation = Conversation(
        words,
        wallets,
        rules.pricing,
        chat_offers,
        wallet=WalletChat(words, wallets, generation, rewards_chat, chat_offers, top_up_chat, progress=progress_chat),
        generation=generation_chat,
        payments=payments_chat,
        rewards=rewards_chat,
        support=support_chat,
        admin=AdminChat(
            words,
            wallets,
            payments,
            support_chat,
            rewards.stats,
            platforms,
            stats_words,
            experiments,
            ExperimentWords(catalogue),
            economics,
        ),
        servers=ServersChat(words, server_wallets, payments_chat),
        speech=SpeechChat(words, generation, generation_chat),
        language=LanguageChat(words, languages),
        top_ups=top_up_chat,
        progress=progress_chat,
    )

    # --- the chat platforms -------------------------------------------------------------------
    sweeps: list[Periodic] = [ReferralSweeper(referrals)]
    telegram = discord = None
    if settings.telegram_bot_token:
        from bot.platforms import telegram_platform

        telegram = telegram_platform(settings, conversation, words)
        platforms.register(telegram)
    if settings.discord_bot_token:
        from bot.platforms import discord_platform

        discord = discord_platform(settings, conversation, words)
        platforms.register(discord)
        sweeps.append(FileSweeper(discord.shelves))
    if telegram is None and discord is None:
        platforms.register(
            ConsolePlatform(conversation, Path(settings.data_dir) / "clips", locale=settings.console_locale)
        )

    # --- the web server and the rest of the periodic work ---------------------------------------
    secret = settings.telegram_webhook_secret
    hooks = WebHooks(
        health=reads.health if reads is not None else _healthy,
        text=catalogue.text,
        parse_stripe=stripe.parse_webhook if stripe is not None else None,
        on_stripe_event=(top_ups or payments).handle_stripe_event if stripe is not None else None,
        on_replicate_webhook=replicate_webhook(generation, settings),
        on_telegram_update=telegram.on_webhook if telegram is not None and telegram.webhook_mode else None,
        telegram_secret=secret.get_secret_value() if secret else None,
        clip=discord.clips.fetch if discord is not None and discord.clips is not None else None,
        metrics=reads.metrics if reads is not None else None,
        metrics_token=settings.metrics_token.get_secret_value() if settings.metrics_token else None,
        dashboard=reads.dashboard if reads is not None else None,
        dashboard_words=stats_words,
        dashboard_token=settings.dashboard_token.get_secret_value() if settings.dashboard_token else None,
        today=lambda: clock.now().astimezone(dt.UTC).date(),
    )
    web = None
    if web_enabled(settings):
        from adapters.web import WebServer

        web = WebServer(hooks, settings.web_host, settings.web_port)
    if rules.free_credit_ttl is not None:
        sweeps.append(ExpirySweeper(rewards.expiry))
    if stripe is not None and stripe.configured:
        sweeps.append(PaymentReconciler(payments, clock))
    if top_ups is not None and top_ups.enabled:
        sweeps.append(TopUpSweeper(top_ups))
    if database is not None and not database.sqlite:
        kept = database
        sweeps.append(StatisticsKeeper(lambda: kept.read(analyze_grown_tables)))
    return App(
        settings=settings,
        clock=clock,
        database=database,
        ledger=ledger,
        catalogue=catalogue,
        words=words,
        wallets=wallets,
        payments=payments,
        experiments=experiments,
        stripe=stripe,
        server_wallets=server_wallets,
        rewards=rewards,
        generation=generation,
        generator=generator,
        providers=providers,
        conversation=conversation,
        platforms=platforms,
        web_hooks=hooks,
        web=web,
        sweeps=sweeps,
        worker_pool=pool,
        top_ups=top_ups,
        economics=economics,
    )


def replicate_webhook(generation: GenerationService, settings: Settings) -> RawWebhook:
    """What the web server calls for `POST /webhooks/replicate`: verify, then apply once."""

    async def hook(body: bytes, headers: Mapping[str, str]) -> None:
        secret = settings.replicate_webhook_secret
        if secret is None or not secret.get_secret_value():
            raise InvalidWebhook("not_configured")
        from adapters.replicate import verify_replicate_webhook

        status = verify_replicate_webhook(body, headers, secret.get_secret_value(), now=time.time())
        await generation.on_prediction_update(status)

    return hook


async def _healthy() -> bool:
    return True


class AuditedLedger(LedgerStore, ExpiryStore, Protocol):
    """The ledger store, which can also check its own books."""

    async def audit(self) -> list[str]: ...


# --- the parts built from settings ---------------------------------------------------------------


def stripe_checkout(settings: Settings) -> StripeCheckout | None:
    """Stripe when a key or a webhook secret is set (None: /buy says payments are not set up)."""
    key = settings.stripe_secret_key.get_secret_value() if settings.stripe_secret_key else None
    secret = settings.stripe_webhook_secret.get_secret_value() if settings.stripe_webhook_secret else None
    if not (key or secret):
        return None
    from adapters.stripe import StripeCheckout

    return StripeCheckout(key, secret, settings.stripe_api_base)


def smtp_sender(settings: Settings, words: Words) -> EmailSender | None:
    """SMTP when SMTP_HOST is set, else None (email verification answers "not set up")."""
    if not settings.smtp_host:
        return None
    config = SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.smtp_from or f"bot@{settings.smtp_host}",
        starttls=settings.smtp_starttls,
    )
    return SmtpEmailSender(config, words.email_message)


def build_generator(settings: Settings, lanes: WorkerLanes | None = None) -> MusicGenerator:
    """MusicGen on Replicate with a token, else the local synthesizer, rendering in the worker
    processes' background lane or, without workers, in threads."""
    if settings.replicate_api_token is not None and settings.replicate_api_token.get_secret_value():
        from adapters.replicate import ReplicateGenerator

        return ReplicateGenerator(
            api_token=settings.replicate_api_token.get_secret_value(),
            model_version_id=settings.replicate_model_version,
            base_url=settings.replicate_api_base,
            model_variant=settings.replicate_model_variant,
            compute_micros_per_second=micros(settings.replicate_cost_per_second),
        )
    logger.info("no REPLICATE_API_TOKEN: generating with the local melody synthesizer")
    return LocalSynthGenerator(
        max_seconds=float(max(60, *settings.generation_costs)),
        executor=background(lanes),
        max_workers=renders_in_flight(lanes),
    )


def economics_service(settings: Settings, reads: EconomicsReads, clock: Clock) -> EconomicsService:
    """Unit economics against every pack on sale (card and Stars): the cheapest sets the bar."""
    on_sale = (*settings.credit_rules().packs.packs, *settings.stars_pack_table.packs)
    return EconomicsService(reads, settings.fees(), on_sale, clock=clock, warning_days=settings.economics_warning_days)


def build_providers(
    settings: Settings, music: MusicGenerator, lanes: WorkerLanes | None = None
) -> dict[str, MusicGenerator]:
    """The provider of each operation other than music from a recording: music from words goes
    to the music generator; speech to eSpeak NG or Replicate; voice tags are mixed here (eSpeak
    and the mixing run in the worker processes' background lane when there are workers)."""
    pool = background(lanes)
    speech: MusicGenerator = local_speech_generator(executor=pool, max_workers=renders_in_flight(lanes))
    token = settings.replicate_api_token.get_secret_value() if settings.replicate_api_token else ""
    if settings.speech_provider == "replicate" and token:
        from adapters.speech import ReplicateSpeechGenerator

        speech = ReplicateSpeechGenerator(
            api_token=token,
            executor=pool,
            model_version_id=settings.replicate_speech_model_version,
            base_url=settings.replicate_api_base,
            compute_micros_per_second=micros(settings.replicate_speech_cost_per_second),
        )
    return {
        OperationName.PROMPT: music,
        OperationName.SPEECH: speech,
        OperationName.VOICE_TAG: local_voice_tag_generator(executor=pool, max_workers=renders_in_flight(lanes)),
    }


def intake_for(settings: Settings, lanes: WorkerLanes | None) -> AudioIntake:
    """Recordings decoded in the worker processes' urgent lane (someone waits on the answer),
    each handed over through a file in the data folder; without workers, here (in a thread)."""
    if lanes is None:
        return PyAVIntake()
    return FileHandoffIntake(PyAVIntake(), lanes.urgent, Path(settings.data_dir) / "uploads")


def background(lanes: WorkerLanes | None) -> Executor | None:
    return None if lanes is None else lanes.background


def renders_in_flight(lanes: WorkerLanes | None) -> int | None:
    """How many renders a local generator sends to the workers at once: one per worker and one
    more waiting its turn (the rest wait here as requests, not as audio); None (the default)
    without workers."""
    return None if lanes is None else lanes.workers + 1


def worker_pool_for(settings: Settings) -> ProcessPoolExecutor | None:
    """Recordings are decoded, and local audio rendered, in worker processes: the event loop
    keeps its GIL, and the bot process neither loads numpy, PyAV or eSpeak nor holds a clip
    being decoded or rendered."""
    processes = settings.intake_processes
    if processes is None:
        processes = max(1, (os.cpu_count() or 2) - 1)
    if processes == 0:
        return None
    return worker_pool(processes)


def generation_settings(settings: Settings, generator: MusicGenerator, lanes: WorkerLanes | None) -> GenerationSettings:
    webhook = None
    if settings.public_base_url and settings.replicate_webhook_secret and settings.replicate_api_token:
        webhook = settings.public_base_url.rstrip("/") + "/webhooks/replicate"  # only when it can be verified
    values = GenerationSettings(
        max_input_bytes=settings.max_input_bytes,
        max_input_seconds=float(settings.max_input_seconds),
        deadline=dt.timedelta(seconds=settings.job_deadline_seconds),
        max_concurrent=settings.max_concurrent_jobs,
        per_person=settings.max_jobs_per_person,
        poll_interval_seconds=settings.poll_interval_seconds,
        max_output_bytes=settings.max_output_bytes,
        webhook_url=webhook,
        worker_id=(settings.worker_id or "").strip() or socket.gethostname()[:100],
        input_retention=dt.timedelta(hours=settings.input_retention_hours),
    )
    if lanes is not None:
        values = dataclasses.replace(values, intake_workers=lanes.workers)
    if isinstance(generator, LocalSynthGenerator):  # asking an in-process generator is free
        values = dataclasses.replace(values, poll_interval_seconds=min(values.poll_interval_seconds, 0.2))
    return values
