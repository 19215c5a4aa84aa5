"""Settings that are each fine but cannot work together stop the bot at start, one line per
problem (people paying and getting nothing, anyone posting fake Telegram updates); the
configurations that do work keep loading."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, load_settings

STRIPE = {
    "stripe_secret_key": "sk_test_123",
    "stripe_webhook_secret": "whsec_abc",
    "public_base_url": "https://bot.example.com",
}
TELEGRAM_WEBHOOK = {
    "telegram_bot_token": "123:ABC",
    "telegram_webhook_url": "https://bot.example.com/webhooks/telegram",
    "telegram_webhook_secret": "s3cret-token_1",
}


@pytest.fixture(autouse=True)
def no_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a developer's .env stays out of these tests
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "PUBLIC_BASE_URL", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in ("TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_PAYMENTS", "TELEGRAM_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def problems_of(**values: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_settings(**values)
    return error.value.problems


def without(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in names}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            without(STRIPE, "stripe_webhook_secret"),
            "STRIPE_WEBHOOK_SECRET: must be set when STRIPE_SECRET_KEY is (the signing secret whsec_... of the "
            "endpoint <PUBLIC_BASE_URL>/webhooks/stripe): without it every payment webhook is refused and "
            "buyers pay without getting their credits",
        ),
        (
            without(STRIPE, "public_base_url"),
            "PUBLIC_BASE_URL: must be set when STRIPE_SECRET_KEY is (e.g. https://bot.example.com): Checkout "
            "sends buyers back to <PUBLIC_BASE_URL>/checkout/success and Stripe delivers payments to "
            "<PUBLIC_BASE_URL>/webhooks/stripe",
        ),
        (
            {**STRIPE, "stripe_secret_key": "pk_live_oops"},
            "STRIPE_SECRET_KEY: is not a secret key (those start with sk_ or rk_; a publishable pk_ key cannot "
            "create Checkout sessions)",
        ),
        (
            {**STRIPE, "stripe_webhook_secret": "sk_test_123"},
            "STRIPE_WEBHOOK_SECRET: is not a webhook signing secret (those start with whsec_)",
        ),
        (
            {"telegram_bot_token": "123:ABC", "telegram_payments": "stripe"},
            "TELEGRAM_PAYMENTS: 'stripe' needs Stripe: set STRIPE_SECRET_KEY (with STRIPE_WEBHOOK_SECRET and "
            "PUBLIC_BASE_URL), or use stars",
        ),
        (
            {"telegram_bot_token": "123:ABC", "telegram_payments": "both"},
            "TELEGRAM_PAYMENTS: 'both' needs Stripe: set STRIPE_SECRET_KEY (with STRIPE_WEBHOOK_SECRET and "
            "PUBLIC_BASE_URL), or use stars",
        ),
        (
            without(TELEGRAM_WEBHOOK, "telegram_webhook_secret"),
            "TELEGRAM_WEBHOOK_SECRET: must be set when TELEGRAM_WEBHOOK_URL is: without it anyone could post "
            "fake updates (payments included) to /webhooks/telegram",
        ),
        (
            {**TELEGRAM_WEBHOOK, "telegram_webhook_secret": "has spaces!"},
            "TELEGRAM_WEBHOOK_SECRET: Telegram accepts 1 to 256 characters of A-Z, a-z, 0-9, _ and -",
        ),
        (
            {**TELEGRAM_WEBHOOK, "telegram_webhook_url": "http://bot.example.com/webhooks/telegram"},
            "TELEGRAM_WEBHOOK_URL: must be an https:// URL",
        ),
        (
            without(TELEGRAM_WEBHOOK, "telegram_bot_token"),
            "TELEGRAM_WEBHOOK_URL: set without TELEGRAM_BOT_TOKEN (no bot to receive updates for)",
        ),
        (
            {"public_base_url": "bot.example.com"},
            "PUBLIC_BASE_URL: must be an http:// or https:// URL with a host (e.g. https://bot.example.com)",
        ),
        (
            {"public_base_url": "https://bot.example.com/?x=1"},
            "PUBLIC_BASE_URL: must not have a query (?...) or a fragment (#...) (e.g. https://bot.example.com)",
        ),
    ],
    ids=[
        "stripe-without-webhook-secret",
        "stripe-without-public-url",
        "publishable-key",
        "wrong-webhook-secret",
        "telegram-stripe-without-stripe",
        "telegram-both-without-stripe",
        "telegram-webhook-without-secret",
        "telegram-secret-charset",
        "telegram-webhook-over-http",
        "telegram-webhook-without-token",
        "public-url-without-scheme",
        "public-url-with-query",
    ],
)
def test_each_combination_that_cannot_work_gets_its_own_message(values, expected):
    assert problems_of(**values) == [expected]


def test_every_problem_is_reported_at_once_one_line_each_without_the_secrets():
    problems = problems_of(
        stripe_secret_key="pk_test_SECRETVALUE",
        telegram_bot_token="123:ABC",
        telegram_webhook_url="http://bot.example.com/webhooks/telegram",
        telegram_payments="stripe",
    )
    assert [p.split(":")[0] for p in problems] == [
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "PUBLIC_BASE_URL",
        "TELEGRAM_WEBHOOK_URL",
        "TELEGRAM_WEBHOOK_SECRET",
    ]
    assert all("\n" not in p and "SECRETVALUE" not in p for p in problems)


def test_the_cli_prints_each_conflict_on_its_own_line_and_exits_2(monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_123")
    assert main(["migrate"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["STRIPE_WEBHOOK_SECRET", "PUBLIC_BASE_URL"]
    assert all(line.startswith("config error: ") for line in lines)


@pytest.mark.parametrize(
    "values",
    [
        {},
        STRIPE,
        {**STRIPE, "stripe_secret_key": "rk_live_restricted", "public_base_url": "http://127.0.0.1:8080/bot/"},
        {"stripe_webhook_secret": "whsec_abc"},  # receiving refunds of past sales, selling nothing
        {**STRIPE, "telegram_bot_token": "123:ABC", "telegram_payments": "both"},
        {"telegram_bot_token": "123:ABC", "telegram_payments": "stars"},
        TELEGRAM_WEBHOOK,
        {"telegram_webhook_secret": "s3cret"},  # kept for later: no webhook yet
        {  # a self-hosted Bot API server may call plain http
            **TELEGRAM_WEBHOOK,
            "telegram_api_base_url": "http://127.0.0.1:8081",
            "telegram_webhook_url": "http://127.0.0.1:8080/webhooks/telegram",
        },
        {"metrics_token": "m" * 32, "public_base_url": "https://bot.example.com"},
    ],
    ids=[
        "defaults",
        "stripe",
        "restricted-key-local",
        "stripe-webhooks-only",
        "telegram-both",
        "telegram-stars",
        "telegram-webhook",
        "telegram-secret-only",
        "self-hosted-bot-api",
        "metrics-token",
    ],
)
def test_configurations_that_work_load(values):
    settings = load_settings(**values)
    assert settings.database_url.startswith("sqlite+aiosqlite://")
