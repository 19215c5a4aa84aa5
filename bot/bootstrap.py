"""The composition root: the only place that builds concrete adapters and wires them to core."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.chat.catalogue import Catalogue
from adapters.localsynth import LocalSynthGenerator  # generation jobs (issue 3)
from adapters.replicate import ReplicateGenerator  # generation jobs (issue 3)
from adapters.storage.database import Database
from adapters.storage.ledger_store import SqlLedgerStore
from adapters.stripe import StripeCheckout  # payments (issue 4)
from adapters.web import WebHooks  # payments (issue 4)
from bot.config import Settings
from bot.generation import (  # generation jobs (issue 3)
    GenerationParts,
    build_generation,
    replicate_webhook,
)
from bot.payments import build_payments, operator_dashboard  # payments (issue 4)
from bot.rewards import (  # rewards (issue 7)
    RewardsParts,
    build_rewards,
    connect_generation,
    connect_offers,
)
from core.clock import SystemClock
from core.domain.rules import CreditRules
from core.ports import Clock
from core.services.generation import GenerationService  # generation jobs (issue 3)
from core.services.payments import PaymentService  # payments (issue 4)
from core.services.server_wallets import ServerWalletService  # server wallets (issue 6)
from core.services.wallets import WalletService


@dataclass
class App:
    settings: Settings
    database: Database
    ledger: SqlLedgerStore
    clock: Clock
    rules: CreditRules
    catalogue: Catalogue
    wallets: WalletService
    # payments (issue 4): `stripe` is None when STRIPE_* are unset; `web_hooks` is what the web
    # server calls: set `on_replicate_webhook` / `on_telegram_update` on it to plug those in.
    payments: PaymentService
    stripe: StripeCheckout | None
    web_hooks: WebHooks
    # rewards (issue 7): daily, referrals, email, share, linking, support, stats (bot/rewards.py)
    rewards: RewardsParts
    # generation jobs (issue 3): chat adapters call `generation` (register their notifier before
    # `generation.start()`, which runtime's background components do).
    generation: GenerationService
    generator: ReplicateGenerator | LocalSynthGenerator
    generation_parts: GenerationParts  # the generator and the intake processes, to close
    # server wallets (issue 6): Discord /gift and /server-wallet, Telegram group wallets
    server_wallets: ServerWalletService | None = None

    async def close(self) -> None:
        await self.generation_parts.aclose()  # generation jobs (issue 3): unfinished jobs resume next start
        if self.stripe is not None:  # payments (issue 4)
            await self.stripe.aclose()
        await self.database.close()


async def build_app(settings: Settings, *, clock: Clock | None = None) -> App:
    """Build and start everything the adapters need (the database must be migrated first)."""
    clock = clock or SystemClock()
    database = Database(settings.database_url)
    await database.start()
    ledger = SqlLedgerStore(database)
    await ledger.prepare()  # system accounts exist (committed) before any movement names them
    rules = settings.credit_rules()
    wallets = WalletService(ledger, rules, clock)
    catalogue = Catalogue()
    paying = build_payments(settings, database, ledger, wallets, rules, clock, catalogue)  # payments (issue 4)
    rewards = build_rewards(settings, database, ledger, wallets, clock, catalogue)  # rewards (issue 7)
    generating = build_generation(settings, database, ledger, wallets, rules, clock)  # generation jobs (issue 3)
    paying.web_hooks.on_replicate_webhook = replicate_webhook(generating.service, settings)
    paying.web_hooks.dashboard = operator_dashboard(database, rewards.stats, clock)  # GET /dashboard
    connect_generation(rewards, generating.service, catalogue)  # rewards (issue 7): referral payouts, shares, tickets
    for offers in (paying.payments.offers, wallets.offers, generating.service.runner.offers):
        connect_offers(rewards, offers)  # rewards (issue 7): next daily credit in every offer
    return App(
        settings=settings,
        database=database,
        ledger=ledger,
        clock=clock,
        rules=rules,
        catalogue=catalogue,
        wallets=wallets,
        payments=paying.payments,  # payments (issue 4)
        stripe=paying.stripe,
        web_hooks=paying.web_hooks,
        rewards=rewards,  # rewards (issue 7)
        generation=generating.service,  # generation jobs (issue 3)
        generator=generating.generator,
        generation_parts=generating,
        server_wallets=ServerWalletService(  # server wallets (issue 6)
            ledger,
            wallets,
            clock,
            can_receive_gift=rewards.bonuses.ensure_can_receive_gift,
            buy=paying.payments.buy,
            stars=paying.payments.stars_invoice,  # Telegram: /groupwallet buy with Stars
        ),
    )
