"""Settings: the only reader of the environment. Typed, validated once at start.

Every setting is documented in `.env.example`. A wrong value is reported as one line per
problem (`DATABASE_URL: unsupported scheme 'mysql'`), never as a traceback.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.domain.identity import Identity
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
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
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"'{item}': '{text}' is not a positive whole number")
    return int(text)


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
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- core -------------------------------------------------------------------------------
    database_url: str = "sqlite+aiosqlite:///./data/bot.db"
    log_level: str = "INFO"
    operator_ids: Annotated[tuple[str, ...], NoDecode] = ()
    welcome_credits: int = Field(10, ge=0, le=100_000)
    daily_credits: int = Field(1, ge=0, le=100_000)
    low_balance_threshold: int = Field(2, ge=0, le=100_000)
    generation_costs: Annotated[dict[int, int], NoDecode] = Field(
        default_factory=lambda: parse_costs("5:1,10:2,15:3,30:5")
    )
    credit_packs: Annotated[tuple[Pack, ...], NoDecode] = Field(
        default_factory=lambda: parse_packs(
            "starter:100:500,popular:400:1500,pro:1000:3500,creator:2500:7500", "usd"
        )
    )
    stars_packs: Annotated[tuple[Pack, ...], NoDecode] = Field(
        default_factory=lambda: parse_packs(
            "starter:100:250,popular:400:750,pro:1000:1750,creator:2500:3750", "XTR"
        )
    )
    hold_ttl_seconds: int = Field(1200, ge=60, le=86_400)
    free_credit_ttl_days: int = Field(0, ge=0, le=3650)
    data_dir: str = "./data"

    # --- chat platforms -----------------------------------------------------------------------
    discord_bot_token: SecretStr | None = None
    discord_api_base_url: str | None = None
    discord_dev_guild_id: int | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_payments: str | None = None  # stripe | stars | both; default: both with Stripe, else stars

    # --- payments -----------------------------------------------------------------------------
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"

    # --- generation ---------------------------------------------------------------------------
    replicate_api_token: SecretStr | None = None
    replicate_api_base: str = "https://api.replicate.com"
    replicate_model_version: str = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
    replicate_model_variant: str = "stereo-melody-large"
    replicate_webhook_secret: SecretStr | None = None

    # --- web server ---------------------------------------------------------------------------
    web_host: str = "127.0.0.1"
    web_port: int = Field(8080, ge=0, le=65535)
    public_base_url: str | None = None

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
    def _operators(cls, value: Any) -> tuple[str, ...]:
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

    @field_validator("generation_costs", mode="before")
    @classmethod
    def _costs(cls, value: Any) -> dict[int, int]:
        return value if isinstance(value, dict) else parse_costs(str(value))

    @field_validator("credit_packs", mode="before")
    @classmethod
    def _packs(cls, value: Any) -> tuple[Pack, ...]:
        return value if isinstance(value, tuple) else parse_packs(str(value), "usd")

    @field_validator("stars_packs", mode="before")
    @classmethod
    def _stars(cls, value: Any) -> tuple[Pack, ...]:
        return value if isinstance(value, tuple) else parse_packs(str(value), "XTR")

    @field_validator("telegram_payments")
    @classmethod
    def _telegram_payments(cls, value: str | None) -> str | None:
        if value is not None and value not in ("stripe", "stars", "both"):
            raise ValueError(f"'{value}' is not stripe, stars or both")
        return value

    # --- derived --------------------------------------------------------------------------

    def credit_rules(self) -> CreditRules:
        return CreditRules(
            pricing=Pricing(dict(self.generation_costs)),
            packs=PackTable(self.credit_packs),
            welcome_credits=self.welcome_credits,
            daily_credits=self.daily_credits,
            low_balance_threshold=self.low_balance_threshold,
            hold_ttl=dt.timedelta(seconds=self.hold_ttl_seconds),
            free_credit_ttl=dt.timedelta(days=self.free_credit_ttl_days) if self.free_credit_ttl_days else None,
            operators=frozenset(self.operator_ids),
        )

    @property
    def stars_pack_table(self) -> PackTable:
        return PackTable(self.stars_packs)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `.env`; `ConfigError` lists every problem."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = str(item["loc"][0]).upper() if item["loc"] else "SETTINGS"
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise ConfigError(problems) from None
