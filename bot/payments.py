"""Wiring of the payments area: Stripe, the payment service, the web server and its hooks.

Called from `bot.bootstrap.build_app` (the parts), `bot.runtime.run` (the web server) and
`bot.cli` (`python -m bot reconcile-payments`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.chat.catalogue import Catalogue
from adapters.chat.render_rewards import RewardRenderer  # GET /dashboard's words
from adapters.storage.dashboard import read_dashboard  # GET /dashboard
from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.metrics import read_figures  # GET /metrics
from adapters.storage.payments import SqlPaymentStore
from adapters.stripe import StripeCheckout
from adapters.web import Dashboard, WebHooks, WebServer
from bot.config import Settings
from bot.periodic import Periodic
from core.domain.rewards import stats_windows
from core.domain.rules import CreditRules
from core.domain.stats import stats_report
from core.ports import Clock
from core.services.offers import OfferService
from core.services.payments import CheckoutUrls, PaymentService
from core.services.stats import StatsService
from core.services.wallets import WalletService

if TYPE_CHECKING:
    from bot.bootstrap import App

logger = logging.getLogger(__name__)

DASHBOARD_TICKETS = 100  # open tickets listed on GET /dashboard, oldest first (the page gives the total)


@dataclass
class PaymentsParts:
    payments: PaymentService
    stripe: StripeCheckout | None  # None when neither STRIPE_SECRET_KEY nor the webhook secret is set
    web_hooks: WebHooks


def web_enabled(settings: Settings) -> bool:
    """The web server runs whenever something may call it: a payment or webhook setting, or a
    token for the operators' pages (`GET /metrics`, `GET /dashboard`)."""
    return web_public(settings) or any((settings.metrics_token, settings.dashboard_token))


def web_public(settings: Settings) -> bool:
    """A payment or webhook setting: the outside world (Stripe, Replicate, Telegram, buyers)
    calls the web server, so links to it (clips too big for a chat) reach people too."""
    return any(
        (
            settings.stripe_secret_key,
            settings.stripe_webhook_secret,
            settings.replicate_webhook_secret,
            settings.telegram_webhook_url,
            settings.public_base_url,
        )
    )


def public_base_url(settings: Settings) -> str:
    return (settings.public_base_url or f"http://{settings.web_host}:{settings.web_port}").rstrip("/")


async def database_reachable(database: Database) -> bool:
    await database.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar())
    return True


def build_payments(
    settings: Settings,
    database: Database,
    ledger: SqlLedgerStore,
    wallets: WalletService,
    rules: CreditRules,
    clock: Clock,
    catalogue: Catalogue,
) -> PaymentsParts:
    secret = settings.stripe_secret_key.get_secret_value() if settings.stripe_secret_key else None
    webhook_secret = settings.stripe_webhook_secret.get_secret_value() if settings.stripe_webhook_secret else None
    stripe = StripeCheckout(secret, webhook_secret, settings.stripe_api_base) if secret or webhook_secret else None
    base = public_base_url(settings)
    stars = settings.stars_pack_table
    payments = PaymentService(
        SqlPaymentStore(database, ledger),
        wallets,
        rules,
        clock,
        gateway=stripe,
        urls=CheckoutUrls(f"{base}/checkout/success", f"{base}/checkout/cancel"),
        stars_packs=stars,
        offers=OfferService(rules, stars_packs=stars),
        checkout_ttl=dt.timedelta(minutes=settings.checkout_expiry_minutes),
    )
    telegram_secret = settings.telegram_webhook_secret
    hooks = WebHooks(
        health=lambda: database_reachable(database),
        text=catalogue.text,
        parse_stripe=stripe.parse_webhook if stripe is not None else None,
        on_stripe_event=payments.handle_stripe_event if stripe is not None else None,
        telegram_secret=telegram_secret.get_secret_value() if telegram_secret else None,
        metrics=lambda: read_figures(database, clock.now()),  # GET /metrics: one read per scrape
        metrics_token=settings.metrics_token.get_secret_value() if settings.metrics_token else None,
        # GET /dashboard: its read is plugged in by `bot.bootstrap` (`operator_dashboard`).
        dashboard_words=RewardRenderer(catalogue),
        dashboard_token=settings.dashboard_token.get_secret_value() if settings.dashboard_token else None,
    )
    return PaymentsParts(payments, stripe, hooks)


def operator_dashboard(database: Database, stats: StatsService, clock: Clock) -> Callable[[], Awaitable[Dashboard]]:
    """`GET /dashboard`'s read: the stats report (the statements and words of `/admin stats`),
    the figures of `GET /metrics` and the oldest open tickets, in one read transaction."""

    async def read() -> Dashboard:
        now = clock.now()
        rows = await read_dashboard(database, now, stats_windows(now), stats.cheapest_clip, DASHBOARD_TICKETS)
        return Dashboard(stats_report(now, rows.windows), rows.figures, rows.tickets)

    return read


def web_component(app: App) -> WebServer | None:
    """The web server on WEB_HOST:WEB_PORT when a payment, webhook or operator-page setting is
    set (a runtime component: started and stopped with the others)."""
    if not web_enabled(app.settings):
        return None
    return WebServer(app.web_hooks, app.settings.web_host, app.settings.web_port)


async def start_web(app: App) -> WebServer | None:
    """Build and start the web server (see `web_component`)."""
    server = web_component(app)
    if server is not None:
        await server.start()
    return server


async def reconcile_payments(settings: Settings, hours: float) -> int:
    """`python -m bot reconcile-payments`: fulfil paid sessions whose webhook was missed."""
    from bot.bootstrap import build_app  # here: bootstrap imports this module

    app = await build_app(settings)
    try:
        since = app.clock.now() - dt.timedelta(hours=hours)
        report = await app.payments.reconcile(since)
    finally:
        await app.close()
    print(f"checked {report.sessions} Checkout sessions created since {since:%Y-%m-%d %H:%M} UTC")
    print(f"fulfilled now: {len(report.fulfilled)} {' '.join(report.fulfilled)}".rstrip())
    print(f"closed now: {len(report.closed)} {' '.join(report.closed)}".rstrip())
    print(f"already fulfilled: {report.already}")
    for session_id, reason in report.ignored:
        print(f"ignored {session_id}: {reason}")
    return 0


def run_reconcile(settings: Settings, hours: float) -> int:
    return asyncio.run(reconcile_payments(settings, hours))


RECONCILE_INTERVAL_SECONDS = 15 * 60.0
RECONCILE_LOOKBACK = dt.timedelta(hours=26)  # Checkout sessions live 24 h at most; 2 h to spare


class PaymentReconciler(Periodic):
    """When Stripe is configured: every 15 minutes, fulfils paid Checkout sessions of the last
    day whose webhook never arrived, so nobody waits for an operator to run
    `reconcile-payments`. Fulfilment is keyed by session, so it is safe beside the webhooks and
    in every process at once."""

    name = "payment-reconciler"
    wait_first = True  # the webhooks come first; start-up stays quick

    def __init__(
        self,
        payments: PaymentService,
        clock: Clock,
        *,
        interval: float = RECONCILE_INTERVAL_SECONDS,
        lookback: dt.timedelta = RECONCILE_LOOKBACK,
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


def reconciler_component(app: App) -> PaymentReconciler | None:
    """The periodic reconcile, when Stripe can be asked (a secret key is set)."""
    if app.payments.gateway is None or not app.payments.gateway.configured:
        return None
    return PaymentReconciler(app.payments, app.clock)
