"""Settings: the only reader of the environment. Typed, validated once at start.

Every setting is documented in `.env.example`. A wrong value is reported as one line per
problem (`DATABASE_URL: unsupported scheme 'mysql'`), never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import re  # settings that must work together
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import urlsplit  # settings that must work together

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,  # settings that must work together
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.domain.economics import Fees, basis_points, micros
from core.domain.identity import Identity
from core.domain.numbers import whole_number
from core.domain.operations import OperationPrices, SpeechPrice
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.progress import Achievement
from core.domain.prompts import DEFAULT_BLOCKLIST
from core.domain.rules import DEFAULT_ACHIEVEMENT_CREDITS, CreditRules
from core.domain.speech import SpeechPolicy
from core.errors import InvalidIdentity

SUPPORTED_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")


class ConfigError(Exception):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _pairs(text: str, parts: int, what: str) -> list[list[str]]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ValueError(f"expected at least one {what}")
    rows = []
    for item in items:
        fields = [f.strip() for f in item.split(":")]
        if len(fields) != parts or not all(fields):
            raise ValueError(f"'{item}' is not {what}")
        rows.append(fields)
    return rows


def _positive(text: str, item: str) -> int:
    value = whole_number(text)
    if value is None or value <= 0:
        raise ValueError(f"'{item}': '{text}' is not a positive whole number")
    return value


def parse_costs(text: str) -> dict[int, int]:
    costs: dict[int, int] = {}
    for seconds, credits in _pairs(text, 2, "seconds:credits"):
        costs[_positive(seconds, f"{seconds}:{credits}")] = _positive(credits, f"{seconds}:{credits}")
    return costs


def parse_packs(text: str, currency: str) -> tuple[Pack, ...]:
    packs = []
    for pack_id, credits, price in _pairs(text, 3, "id:credits:price"):
        item = f"{pack_id}:{credits}:{price}"
        if not pack_id.isidentifier():
            raise ValueError(f"'{item}': pack id must be a word")
        packs.append(Pack(pack_id.lower(), _positive(credits, item), _positive(price, item), currency))
    if len({p.pack_id for p in packs}) != len(packs):
        raise ValueError("pack ids must be unique")
    return tuple(packs)


class Settings(BaseSettings):
    # An empty value (`DISCORD_DEV_GUILD_ID=` copied from .env.example) means "not set".
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # --- core -------------------------------------------------------------------------------
    database_url: str = "sqlite+aiosqlite:///./data/bot.db"
    # PostgreSQL: connections committing write batches in parallel, per process (SQLite has one).
    database_writers: int = Field(2, ge=1, le=64)
    # PostgreSQL: connections per process at most, writers included (the server's max_connections
    # is shared by every process, and by the operators' tools).
    database_connections: int = Field(20, ge=3, le=1000)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    operator_ids: Annotated[tuple[str, ...], NoDecode] = ()
    welcome_credits: int = Field(10, ge=0, le=100_000)
    daily_credits: int = Field(1, ge=0, le=100_000)
    low_balance_threshold: int = Field(2, ge=0, le=100_000)
    generation_costs: Annotated[dict[int, int], NoDecode] = Field(
        default_factory=lambda: parse_costs("5:1,10:2,15:3,30:5")
    )
    credit_packs: Annotated[tuple[Pack, ...], NoDecode] = Field(
        default_factory=lambda: parse_packs("starter:100:500,popular:400:1500,pro:1000:3500,creator:2500:7500", "usd")
    )
    stars_packs: Annotated[tuple[Pack, ...], NoDecode] = Field(
        default_factory=lambda: parse_packs("starter:100:250,popular:400:750,pro:1000:1750,creator:2500:3750", "XTR")
    )
    hold_ttl_seconds: int = Field(1200, ge=60, le=86_400)
    free_credit_ttl_days: int = Field(0, ge=0, le=3650)
    data_dir: str = "./data"

    # --- chat platforms -----------------------------------------------------------------------
    discord_bot_token: SecretStr | None = None
    discord_api_base_url: str | None = None
    discord_dev_guild_id: int | None = None
    # Sharding (scale-out): the total number of shards, and the ones this process runs.
    discord_shard_count: int | None = Field(None, ge=1, le=100_000)
    discord_shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_payments: str | None = None  # stripe | stars | both; default: both with Stripe, else stars
    telegram_concurrency: int = Field(32, ge=1, le=1024)  # updates handled at once
    telegram_max_messages_per_second: float = Field(0, ge=0, le=1000)  # 0 = only obey 429s
    telegram_chat_action_interval: float = Field(4.0, gt=0, le=5)  # a chat action shows for 5 s
    # The console's language: CONSOLE_LOCALE, else the terminal's locale as POSIX ranks it
    # (es_ES.UTF-8 → Spanish; anything the bot does not speak, "C" included → English).
    console_locale: str | None = Field(
        None, validation_alias=AliasChoices("CONSOLE_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG")
    )

    # --- payments -----------------------------------------------------------------------------
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    checkout_expiry_minutes: int = Field(60, ge=35, le=1440)  # Stripe: 30 min to 24 h, measured on its clock

    # --- upsell -------------------------------------------------------------------------------
    # Days of spending the upsell looks at (spent more than the pack holds: show the next pack);
    # 0 turns the upsell off.
    upsell_window_days: int = Field(30, ge=0, le=365)

    # --- automatic top-up and paying inside Discord ---------------------------------------------
    # Hard caps per wallet on automatic (off-session) charges: how many a UTC day, how much money
    # (cents) a UTC month; and the highest line `/autotopup <pack> below <n>` accepts.
    auto_topup_max_per_day: int = Field(3, ge=1, le=100)
    auto_topup_max_per_month_cents: int = Field(20_000, ge=50, le=10_000_000)
    auto_topup_max_threshold: int = Field(10_000, ge=1, le=1_000_000)
    # Discord consumable SKUs, one per pack: "starter=1234567890,pro=..." (off unless set).
    discord_skus: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    # --- generation ---------------------------------------------------------------------------
    replicate_api_token: SecretStr | None = None
    replicate_api_base: str = "https://api.replicate.com"
    replicate_model_version: str = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
    replicate_model_variant: str = "stereo-melody-large"
    replicate_webhook_secret: SecretStr | None = None
    max_input_bytes: int = Field(20_000_000, ge=1_000, le=500_000_000)
    max_input_seconds: int = Field(30, ge=1, le=300)
    job_deadline_seconds: int = Field(600, ge=10, le=86_400)
    max_concurrent_jobs: int = Field(10, ge=1, le=10_000)
    max_jobs_per_person: int = Field(2, ge=1, le=1_000)
    prompt_blocklist: Annotated[tuple[str, ...], NoDecode] = DEFAULT_BLOCKLIST
    poll_interval_seconds: float = Field(2.0, gt=0, le=60)
    max_output_bytes: int = Field(50_000_000, ge=1_000, le=2_000_000_000)
    worker_id: str | None = Field(None, max_length=100)
    input_retention_hours: int = Field(24, ge=0, le=720)

    # --- priced operations: music from words, speech, the voice tag ------------------------------
    prompt_costs: Annotated[dict[int, int], NoDecode] = Field(default_factory=lambda: parse_costs("5:1,10:2,15:3,30:5"))
    speech_chars_per_block: int = Field(200, ge=1, le=100_000)
    speech_block_cost: int = Field(1, ge=1, le=100_000)
    speech_max_chars: int = Field(1000, ge=1, le=5_000)
    voice_tag_cost: int = Field(1, ge=1, le=100_000)
    voice_tag_max_chars: int = Field(100, ge=1, le=1_000)
    speech_provider: Literal["espeak", "replicate"] = "espeak"
    replicate_speech_model_version: str = "f559560eb822dc509045f3921a1921234918b91739db4bf3daab2169b71c7a13"
    intake_processes: int | None = Field(None, ge=0, le=64)

    # --- unit economics (what a job costs the operator, what a credit brings in) ---------------
    replicate_cost_per_second: Decimal = Field(Decimal("0.0014"), ge=0, le=100)  # dollars per GPU second
    replicate_speech_cost_per_second: Decimal = Field(Decimal("0.000225"), ge=0, le=100)
    stripe_fee_percent: Decimal = Field(Decimal("2.9"), ge=0, le=100)
    stripe_fee_fixed_cents: int = Field(30, ge=0, le=10_000)
    stars_value_per_star: Decimal = Field(Decimal("0.013"), ge=0, le=100)  # dollars the operator receives
    discord_fee_percent: Decimal = Field(Decimal("15"), ge=0, le=100)
    economics_warning_days: int = Field(30, ge=1, le=365)

    # --- web server ---------------------------------------------------------------------------
    web_host: str = "127.0.0.1"
    web_port: int = Field(8080, ge=0, le=65535)
    public_base_url: str | None = None
    metrics_token: SecretStr | None = None  # set: GET /metrics needs `Authorization: Bearer <token>`
    dashboard_token: SecretStr | None = None  # set: GET /dashboard exists, HTTP Basic with this as the password

    # --- rewards, email verification, support -------------------------------------
    daily_plans: Annotated[tuple[str, ...], NoDecode] = ("free",)
    referral_credits: int = Field(10, ge=0, le=100_000)
    referral_monthly_cap: int = Field(20, ge=0, le=100_000)
    referral_window_days: int = Field(7, ge=0, le=365)
    email_credits: int = Field(5, ge=0, le=100_000)
    email_code_ttl_minutes: int = Field(15, ge=1, le=1440)
    email_max_attempts: int = Field(5, ge=1, le=100)
    email_lock_minutes: int = Field(60, ge=1, le=10_080)
    share_credits: int = Field(2, ge=0, le=100_000)
    link_code_ttl_minutes: int = Field(10, ge=1, le=1440)
    max_free_credits_per_day: int = Field(20, ge=0, le=1_000_000)
    new_account_cooldown_minutes: int = Field(10, ge=0, le=525_600)
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    support_discord_channel_id: int | None = None
    support_telegram_chat_id: int | None = None
    support_tickets_per_hour: int = Field(5, ge=0, le=1000)

    # --- progress: the daily streak and achievements (free credits, within the allowance) ---
    achievement_credits: Annotated[tuple[tuple[str, int], ...], NoDecode] = DEFAULT_ACHIEVEMENT_CREDITS
    streak_bonus_credits: int = Field(1, ge=0, le=100_000)
    streak_bonus_days: int = Field(7, ge=1, le=365)

    @field_validator("prompt_blocklist", mode="before")
    @classmethod
    def _blocklist(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, tuple | list):
            return tuple(str(v).strip().lower() for v in value if str(v).strip())
        text = str(value or "").strip()
        if not text:
            return DEFAULT_BLOCKLIST  # an empty line in .env keeps the default list
        if text.lower() == "none":
            return ()
        return tuple(term.strip().lower() for term in text.split(",") if term.strip())

    @field_validator("database_url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else value
        if scheme not in SUPPORTED_SCHEMES:
            raise ValueError(f"unsupported scheme '{scheme}' (use {' or '.join(SUPPORTED_SCHEMES)})")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"'{value}' is not a log level (DEBUG, INFO, WARNING, ERROR)")
        return level

    @field_validator("operator_ids", mode="before")
    @classmethod
    def _operators(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, tuple | list):
            value = ",".join(value)
        keys = []
        for item in str(value or "").split(","):
            if item.strip():
                try:
                    keys.append(Identity.parse(item).key)
                except InvalidIdentity:
                    raise ValueError(f"'{item.strip()}' is not platform:id (e.g. discord:123)") from None
        return tuple(keys)

    @field_validator("generation_costs", "prompt_costs", mode="before")
    @classmethod
    def _costs(cls, value: object) -> dict[int, int]:
        return value if isinstance(value, dict) else parse_costs(str(value))

    @field_validator("credit_packs", mode="before")
    @classmethod
    def _packs(cls, value: object) -> tuple[Pack, ...]:
        return value if isinstance(value, tuple) else parse_packs(str(value), "usd")

    @field_validator("stars_packs", mode="before")
    @classmethod
    def _stars(cls, value: object) -> tuple[Pack, ...]:
        return value if isinstance(value, tuple) else parse_packs(str(value), "XTR")

    @field_validator("telegram_payments")
    @classmethod
    def _telegram_payments(cls, value: str | None) -> str | None:
        if value is not None and value not in ("stripe", "stars", "both"):
            raise ValueError(f"'{value}' is not stripe, stars or both")
        return value

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: object, info: ValidationInfo) -> tuple[int, ...] | None:
        """`0,2`: the shards this process runs, each below DISCORD_SHARD_COUNT, none twice."""
        items = value if isinstance(value, tuple | list) else str(value or "").split(",")
        texts = [str(item).strip() for item in items if str(item).strip()]
        if not texts:
            return None
        bad = [t for t in texts if whole_number(t) is None]
        if bad:
            raise ValueError(f"'{bad[0]}' is not a shard number (whole numbers from 0, e.g. 0,1)")
        ids = tuple(int(t) for t in texts)
        if "discord_shard_count" not in info.data:
            return ids  # DISCORD_SHARD_COUNT itself is wrong, and reported
        count = info.data["discord_shard_count"]
        if count is None:
            raise ValueError("set DISCORD_SHARD_COUNT too (the total number of shards of every process)")
        for i in ids:
            if i >= count:
                raise ValueError(f"shard {i} is not below DISCORD_SHARD_COUNT ({count}): shards are 0 to {count - 1}")
        if len(set(ids)) != len(ids):
            raise ValueError("a shard is listed twice")
        return ids

    # --- derived --------------------------------------------------------------------------

    def operation_prices(self) -> OperationPrices:
        return OperationPrices(
            music=Pricing(dict(self.generation_costs)),
            prompt=Pricing(dict(self.prompt_costs)),
            speech=SpeechPrice(self.speech_chars_per_block, self.speech_block_cost),
            voice_tag=self.voice_tag_cost,
        )

    def speech_policy(self) -> SpeechPolicy:
        return SpeechPolicy(max_chars=self.speech_max_chars, max_tag_chars=self.voice_tag_max_chars)

    def fees(self) -> Fees:
        return Fees(
            stripe_basis_points=basis_points(self.stripe_fee_percent),
            stripe_fixed_cents=self.stripe_fee_fixed_cents,
            star_micros=micros(self.stars_value_per_star),
            discord_basis_points=basis_points(self.discord_fee_percent),
        )

    def credit_rules(self) -> CreditRules:
        return CreditRules(
            pricing=Pricing(dict(self.generation_costs)),
            packs=PackTable(self.credit_packs),
            welcome_credits=self.welcome_credits,
            daily_credits=self.daily_credits,
            share_credits=self.share_credits,
            email_credits=self.email_credits,
            referral_credits=self.referral_credits,
            low_balance_threshold=self.low_balance_threshold,
            daily_plans=frozenset(self.daily_plans),
            max_free_per_day=self.max_free_credits_per_day,
            referral_monthly_cap=self.referral_monthly_cap,
            referral_window=dt.timedelta(days=self.referral_window_days),
            new_account_cooldown=dt.timedelta(minutes=self.new_account_cooldown_minutes),
            hold_ttl=dt.timedelta(seconds=self.hold_ttl_seconds),
            free_credit_ttl=dt.timedelta(days=self.free_credit_ttl_days) if self.free_credit_ttl_days else None,
            email_code_ttl=dt.timedelta(minutes=self.email_code_ttl_minutes),
            email_max_attempts=self.email_max_attempts,
            email_lock=dt.timedelta(minutes=self.email_lock_minutes),
            link_code_ttl=dt.timedelta(minutes=self.link_code_ttl_minutes),
            support_tickets_per_hour=self.support_tickets_per_hour,
            operators=frozenset(self.operator_ids),
            achievement_credits=self.achievement_credits,
            streak_bonus_credits=self.streak_bonus_credits,
            streak_bonus_days=self.streak_bonus_days,
        )

    @property
    def stars_pack_table(self) -> PackTable:
        return PackTable(self.stars_packs)

    @field_validator("discord_skus", mode="before")
    @classmethod
    def _discord_skus(cls, value: object) -> dict[str, str]:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        skus: dict[str, str] = {}
        for item in str(value or "").split(","):
            if not item.strip():
                continue
            pack, _, sku = item.partition("=")
            if not pack.strip() or not sku.strip().isdecimal():
                raise ValueError(f"'{item.strip()}': expected <pack>=<numeric SKU id>")
            skus[pack.strip().lower()] = sku.strip()
        return skus

    # --- rewards ------------------------------------------------------------------

    @field_validator("achievement_credits", mode="before")
    @classmethod
    def _achievement_credits(cls, value: object) -> tuple[tuple[str, int], ...]:
        """`clips_10:1,streak_7:2` (blank: no achievement pays); names from `Achievement`."""
        if isinstance(value, tuple | list):
            return tuple((str(name), int(n)) for name, n in value)
        known = {a.value for a in Achievement}
        pairs: list[tuple[str, int]] = []
        for item in str(value or "").split(","):
            if not item.strip():
                continue
            name, _, amount = item.partition(":")
            name = name.strip().lower()
            if name not in known:
                raise ValueError(f"unknown achievement {name!r} (known: {', '.join(sorted(known))})")
            if not amount.strip().isdigit() or int(amount) > 100_000:
                raise ValueError(f"{name}: credits must be a whole number from 0 to 100000")
            pairs.append((name, int(amount)))
        return tuple(pairs)

    @field_validator("daily_plans", mode="before")
    @classmethod
    def _daily_plans(cls, value: object) -> tuple[str, ...]:
        items = value if isinstance(value, tuple | list) else str(value or "").split(",")
        return tuple(item.strip().lower() for item in items if item.strip())

    @field_validator(
        "smtp_host",
        "smtp_user",
        "smtp_password",
        "smtp_from",
        "support_discord_channel_id",
        "support_telegram_chat_id",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("max_free_credits_per_day")
    @classmethod
    def _free_allowance(cls, value: int, info: ValidationInfo) -> int:
        # A bonus is paid whole or not at all, so an allowance below one bonus would never pay it.
        names = ("daily_credits", "referral_credits", "email_credits", "share_credits")
        largest = max((int(info.data.get(name) or 0) for name in names), default=0)
        if 0 < value < largest:
            raise ValueError(f"must be 0 (no limit) or at least the largest bonus ({largest})")
        return value

    # --- settings that must work together -------------------------------------------------

    @model_validator(mode="after")
    def _settings_work_together(self) -> Settings:
        """Combinations that start but cannot work (people would pay and get nothing, or
        anyone could post fake updates) stop the bot here, one line per problem."""
        problems = _conflicts(self)
        if problems:
            raise SettingsConflict(problems)
        return self


class SettingsConflict(ValueError):
    """Settings that are each valid but cannot work together: `NAME: problem` per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


# Telegram's rule for setWebhook's secret_token.
_TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
OFFICIAL_TELEGRAM_API = "api.telegram.org"


def _url_problem(value: str, *, https_only: bool = False) -> str | None:
    parts = urlsplit(value.strip())
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme not in schemes or not parts.hostname:
        return "must be an https:// URL" if https_only else "must be an http:// or https:// URL with a host"
    if parts.query or parts.fragment:
        return "must not have a query (?...) or a fragment (#...)"
    return None


def _conflicts(s: Settings) -> list[str]:
    problems: list[str] = []
    stripe_key = s.stripe_secret_key.get_secret_value() if s.stripe_secret_key else ""
    webhook_secret = s.stripe_webhook_secret.get_secret_value() if s.stripe_webhook_secret else ""
    if s.public_base_url and (problem := _url_problem(s.public_base_url)):
        problems.append(f"PUBLIC_BASE_URL: {problem} (e.g. https://bot.example.com)")
    if stripe_key:
        if not stripe_key.startswith(("sk_", "rk_")):
            problems.append(
                "STRIPE_SECRET_KEY: is not a secret key (those start with sk_ or rk_; a publishable pk_ key "
                "cannot create Checkout sessions)"
            )
        if not webhook_secret:
            problems.append(
                "STRIPE_WEBHOOK_SECRET: must be set when STRIPE_SECRET_KEY is (the signing secret whsec_... "
                "of the endpoint <PUBLIC_BASE_URL>/webhooks/stripe): without it every payment webhook is "
                "refused and buyers pay without getting their credits"
            )
        if not s.public_base_url:
            problems.append(
                "PUBLIC_BASE_URL: must be set when STRIPE_SECRET_KEY is (e.g. https://bot.example.com): "
                "Checkout sends buyers back to <PUBLIC_BASE_URL>/checkout/success and Stripe delivers "
                "payments to <PUBLIC_BASE_URL>/webhooks/stripe"
            )
    if webhook_secret and not webhook_secret.startswith("whsec_"):
        problems.append("STRIPE_WEBHOOK_SECRET: is not a webhook signing secret (those start with whsec_)")
    if s.database_connections < s.database_writers + 2:
        problems.append(
            f"DATABASE_CONNECTIONS: {s.database_connections} leaves fewer than 2 connections for reads beside "
            f"DATABASE_WRITERS={s.database_writers} (set it to {s.database_writers + 2} or more)"
        )
    unknown_skus = sorted(set(s.discord_skus) - {pack.pack_id for pack in s.credit_packs})
    if unknown_skus:
        problems.append(f"DISCORD_SKUS: no pack called {', '.join(unknown_skus)} in CREDIT_PACKS")
    if s.telegram_payments in ("stripe", "both") and not stripe_key:
        problems.append(
            f"TELEGRAM_PAYMENTS: '{s.telegram_payments}' needs Stripe: set STRIPE_SECRET_KEY "
            "(with STRIPE_WEBHOOK_SECRET and PUBLIC_BASE_URL), or use stars"
        )
    telegram_secret = s.telegram_webhook_secret.get_secret_value() if s.telegram_webhook_secret else ""
    if telegram_secret and not _TELEGRAM_SECRET.match(telegram_secret):
        problems.append("TELEGRAM_WEBHOOK_SECRET: Telegram accepts 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
    if s.telegram_webhook_url:
        if not s.telegram_bot_token:
            problems.append("TELEGRAM_WEBHOOK_URL: set without TELEGRAM_BOT_TOKEN (no bot to receive updates for)")
        # Telegram's own servers call https only; a self-hosted Bot API server may call http.
        official = urlsplit(s.telegram_api_base_url).hostname == OFFICIAL_TELEGRAM_API
        if problem := _url_problem(s.telegram_webhook_url, https_only=official):
            problems.append(f"TELEGRAM_WEBHOOK_URL: {problem}")
        if not telegram_secret:
            problems.append(
                "TELEGRAM_WEBHOOK_SECRET: must be set when TELEGRAM_WEBHOOK_URL is: without it anyone "
                "could post fake updates (payments included) to /webhooks/telegram"
            )
    return problems


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and `.env`; `ConfigError` lists every problem."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            conflict = (item.get("ctx") or {}).get("error")
            if isinstance(conflict, SettingsConflict):  # already `NAME: problem`, one per line
                problems.extend(conflict.problems)
                continue
            name = str(item["loc"][0]).upper() if item["loc"] else "SETTINGS"
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise ConfigError(problems) from None


# --- what the settings imply ---------------------------------------------------------------


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


def web_enabled(settings: Settings) -> bool:
    """The web server runs whenever something may call it: a payment or webhook setting, or a
    token for the operators' pages (`GET /metrics`, `GET /dashboard`)."""
    return web_public(settings) or any((settings.metrics_token, settings.dashboard_token))


def public_base_url(settings: Settings) -> str:
    return (settings.public_base_url or f"http://{settings.web_host}:{settings.web_port}").rstrip("/")
