"""What every Telegram handler reaches through `context.deps`: settings, core services, words.

`TelegramConfig.from_settings` and `TelegramServices.from_app` read the composition root's
objects by attribute (adapters never import `bot`), so a service that is not wired yet is
simply `None` and the commands that need it say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ExtBot

from adapters.chat.catalogue import Catalogue
from adapters.chat.generation_text import GenerationText
from adapters.chat.render import Renderer
from adapters.chat.render_payments import PaymentsRenderer
from adapters.chat.render_rewards import RewardRenderer
from adapters.telegram.keyboards import Keyboards
from core.domain.pricing import Pack
from core.domain.rules import CreditRules
from core.ports import Clock
from core.services.wallets import WalletService

if TYPE_CHECKING:
    from adapters.telegram.notifier import TelegramNotifier
    from core.services.generation import GenerationService
    from core.services.payments import PaymentService
    from core.services.server_wallets import ServerWalletService

# Telegram lets bots download files up to 20 MB; the generation service refuses bigger inputs
# too. Checked on `file_size` before anything is downloaded or held.
MAX_DOWNLOAD_BYTES = 20_000_000

# The styles offered on the keyboard: id → the prompt sent to the generator. The button labels
# are in the catalogue (`tg.style.<id>`).
STYLES: dict[str, str] = {
    "piano": "warm solo piano",
    "guitar": "acoustic guitar",
    "strings": "lush string orchestra",
    "synth": "retro synth lead",
    "bass": "deep bass groove",
}


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_base_url: str = "https://api.telegram.org"
    webhook_url: str | None = None  # set: webhook mode (our web server receives the updates)
    webhook_secret: str | None = None
    payments: str | None = None  # stripe | stars | both; None: both with Stripe, else stars
    support_chat_id: int | None = None  # the operators' chat that receives /support tickets
    concurrency: int = 32  # updates handled at once: bounded, so a burst queues instead of thrashing
    connection_pool_size: int = 48
    max_messages_per_second: float = 0  # 0: no pre-emptive limit; 429s are always obeyed
    max_retries: int = 3  # on 429, after waiting retry_after
    chat_action_interval: float = 4.5  # a chat action shows for 5 s: repeat a little sooner
    max_download_bytes: int = MAX_DOWNLOAD_BYTES
    styles: dict[str, str] = field(default_factory=lambda: dict(STYLES))

    @classmethod
    def from_settings(cls, settings: Any) -> TelegramConfig:
        def secret(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        token = secret(settings.telegram_bot_token)
        assert token, "TELEGRAM_BOT_TOKEN is not set"
        return cls(
            token=token,
            api_base_url=str(settings.telegram_api_base_url).rstrip("/"),
            webhook_url=settings.telegram_webhook_url or None,
            webhook_secret=secret(settings.telegram_webhook_secret),
            payments=settings.telegram_payments,
            support_chat_id=settings.support_telegram_chat_id,
            concurrency=settings.telegram_concurrency,
            # room for the job notifier's sends beside the handlers' own
            connection_pool_size=settings.telegram_concurrency + 16,
            max_messages_per_second=settings.telegram_max_messages_per_second,
        )


@dataclass
class TelegramServices:
    """The core services the handlers call (one per handler) and the shared words."""

    wallets: WalletService
    catalogue: Catalogue
    rules: CreditRules
    clock: Clock
    payments: PaymentService | None = None
    generation: GenerationService | None = None
    # `.bonuses` (daily, share), `.referrals`, `.email`, `.linking`, `.support`, `.stats`
    rewards: Any = None
    server_wallets: ServerWalletService | None = None  # group wallets: /gift, /groupwallet

    @classmethod
    def from_app(cls, app: Any) -> TelegramServices:
        return cls(
            wallets=app.wallets,
            catalogue=app.catalogue,
            rules=app.rules,
            clock=app.clock,
            payments=getattr(app, "payments", None),
            generation=getattr(app, "generation", None),
            rewards=getattr(app, "rewards", None),
            server_wallets=getattr(app, "server_wallets", None),
        )


@dataclass
class Deps:
    config: TelegramConfig
    services: TelegramServices
    notifier: TelegramNotifier
    render: Renderer = field(init=False)
    render_payments: PaymentsRenderer = field(init=False)
    keyboards: Keyboards = field(init=False)
    generation_text: GenerationText = field(init=False)
    rewards_text: RewardRenderer = field(init=False)

    def __post_init__(self) -> None:
        self.generation_text = GenerationText(Renderer(self.services.catalogue))
        self.rewards_text = RewardRenderer(self.services.catalogue)
        self.render = Renderer(self.services.catalogue)
        self.render_payments = PaymentsRenderer(self.services.catalogue)
        self.keyboards = Keyboards(self.services.catalogue, self.config.styles)

    def t(self, key: str, locale: str | None = None, **data: object) -> str:
        return self.services.catalogue.text(key, locale, **data)

    # --- what is on sale on Telegram (TELEGRAM_PAYMENTS) --------------------------------------

    @property
    def sells_stars(self) -> bool:
        payments = self.services.payments
        return payments is not None and payments.stars_enabled and self._mode in ("stars", "both")

    @property
    def sells_stripe(self) -> bool:
        payments = self.services.payments
        return payments is not None and payments.stripe_enabled and self._mode in ("stripe", "both")

    @property
    def _mode(self) -> str:
        if self.config.payments:
            return self.config.payments
        payments = self.services.payments
        return "both" if payments is not None and payments.stripe_enabled else "stars"

    def packs_on_sale(self) -> list[tuple[str, Pack]]:
        """(kind, pack) for each button: `s` Stars invoices, `p` Stripe Checkout links."""
        payments = self.services.payments
        if payments is None:
            return []
        shown: list[tuple[str, Pack]] = []
        if self.sells_stars:
            shown += [("s", p) for p in payments.stars_packs.packs]
        if self.sells_stripe:
            shown += [("p", p) for p in payments.packs()]
        return shown


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The handlers' context: `context.deps` is everything app-wide."""

    @property
    def deps(self) -> Deps:
        deps: Deps = self.bot_data["deps"]
        return deps
