"""The composition root: the only place that builds concrete adapters and wires them to core."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.chat.catalogue import Catalogue
from adapters.localsynth import LocalSynthGenerator
from adapters.replicate import ReplicateGenerator
from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.stripe import StripeCheckout
from adapters.web import WebHooks
from bot.config import Settings
from bot.generation import (
    GenerationParts,
    build_generation,
    replicate_webhook,
)
from bot.payments import build_payments, operator_dashboard
from bot.rewards import (
    RewardsParts,
    build_rewards,
    connect_generation,
    connect_offers,
)
from core.clock import SystemClock
from core.domain.rules import CreditRules
from core.ports import Clock
from core.services.generation import GenerationService
from core.services.payments import PaymentService
from core.services.server_wallets import ServerWalletService
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
    # `stripe` is None when STRIPE_* are unset; `web_hooks` is what the web
    # server calls: set `on_replicate_webhook` / `on_telegram_update` on it to plug those in.
    payments: PaymentService
    stripe: StripeCheckout | None
    web_hooks: WebHooks
    # daily, referrals, email, share, linking, support, stats (bot/rewards.py)
    rewards: RewardsParts
    # chat adapters call `generation` (register their notifier before
    # `generation.start()`, which runtime's background components do).
    generation: GenerationService
    generator: ReplicateGenerator | LocalSynthGenerator
    generation_parts: GenerationParts  # the generator and the intake processes, to close
    # Discord /gift and /server-wallet, Telegram group wallets
    server_wallets: ServerWalletService | None = None

    async def close(self) -> None:
        await self.generation_parts.aclose()  # unfinished jobs resume next start
        if self.stripe is not None:
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
    paying = build_payments(settings, database, ledger, wallets, rules, clock, catalogue)
    rewards = build_rewards(settings, database, ledger, wallets, clock, catalogue)
    generating = build_generation(settings, database, ledger, wallets, rules, clock)
    paying.web_hooks.on_replicate_webhook = replicate_webhook(generating.service, settings)
    paying.web_hooks.dashboard = operator_dashboard(database, rewards.stats, clock)  # GET /dashboard
    connect_generation(rewards, generating.service, catalogue)  # referral payouts, shares, tickets
    for offers in (paying.payments.offers, wallets.offers, generating.service.runner.offers):
        connect_offers(rewards, offers)  # next daily credit in every offer
    return App(
        settings=settings,
        database=database,
        ledger=ledger,
        clock=clock,
        rules=rules,
        catalogue=catalogue,
        wallets=wallets,
        payments=paying.payments,
        stripe=paying.stripe,
        web_hooks=paying.web_hooks,
        rewards=rewards,
        generation=generating.service,
        generator=generating.generator,
        generation_parts=generating,
        server_wallets=ServerWalletService(
            ledger,
            wallets,
            clock,
            can_receive_gift=rewards.bonuses.ensure_can_receive_gift,
            buy=paying.payments.buy,
            stars=paying.payments.stars_invoice,  # Telegram: /groupwallet buy with Stars
        ),
    )
