"""Settings: typed, defaults from the spec, one clear line per wrong value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # keep a developer's .env out of these tests


def test_defaults_follow_the_product_spec():
    s = load_settings()
    rules = s.credit_rules()
    assert s.database_url == "sqlite+aiosqlite:///./data/bot.db"
    assert rules.welcome_credits == 10 and rules.daily_credits == 1 and rules.low_balance_threshold == 2
    assert rules.pricing.costs == {5: 1, 10: 2, 15: 3, 30: 5}
    assert [(p.pack_id, p.credits, p.price) for p in rules.packs.packs] == [
        ("starter", 100, 500),
        ("popular", 400, 1500),
        ("pro", 1000, 3500),
        ("creator", 2500, 7500),
    ]


def test_every_wrong_value_is_reported_in_one_line_each(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://localhost/bot")
    monkeypatch.setenv("GENERATION_COSTS", "5:1,ten:2")
    monkeypatch.setenv("CREDIT_PACKS", "starter:100")
    monkeypatch.setenv("OPERATOR_IDS", "discord:123,bob")
    monkeypatch.setenv("WELCOME_CREDITS", "-3")
    monkeypatch.setenv("LOG_LEVEL", "loud")
    with pytest.raises(ConfigError) as error:
        load_settings()
    problems = error.value.problems
    assert "DATABASE_URL: unsupported scheme 'mysql' (use sqlite+aiosqlite or postgresql+asyncpg)" in problems
    assert {p.split(":")[0] for p in problems} == {
        "DATABASE_URL",
        "GENERATION_COSTS",
        "CREDIT_PACKS",
        "OPERATOR_IDS",
        "WELCOME_CREDITS",
        "LOG_LEVEL",
    }
    assert all("\n" not in p and "Traceback" not in p for p in problems)


def test_a_connection_budget_that_leaves_no_readers_is_refused_in_one_line(monkeypatch):
    assert load_settings().database_connections == 20
    monkeypatch.setenv("DATABASE_WRITERS", "4")
    monkeypatch.setenv("DATABASE_CONNECTIONS", "5")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert error.value.problems == [
        "DATABASE_CONNECTIONS: 5 leaves fewer than 2 connections for reads beside DATABASE_WRITERS=4 "
        "(set it to 6 or more)"
    ]
    monkeypatch.setenv("DATABASE_CONNECTIONS", "6")
    assert load_settings().database_connections == 6


def test_tokens_are_secrets_that_do_not_show_in_reprs(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:ABCDEF")
    s = load_settings()
    assert "ABCDEF" not in repr(s) and s.telegram_bot_token.get_secret_value() == "123:ABCDEF"


def test_operator_ids_are_parsed_into_identity_keys(monkeypatch):
    monkeypatch.setenv("OPERATOR_IDS", " discord:123 , telegram:456,console:alice ")
    assert load_settings().credit_rules().operators == {"discord:123", "telegram:456", "console:alice"}


def test_env_example_documents_every_setting_with_a_comment():
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.M))
    assert documented == {name.upper() for name in Settings.model_fields}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            above = lines[i - 1]
            assert above.startswith("#") or re.match(r"^[A-Z][A-Z0-9_]*=", above), f"{line} has no comment"


def test_the_cli_prints_config_errors_without_a_traceback(monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "config error: DATABASE_URL: unsupported scheme 'mysql'" in err and "Traceback" not in err


def test_a_copy_of_env_example_loads_as_it_is(tmp_path):
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    settings = load_settings()
    assert settings.discord_bot_token is None and settings.telegram_payments is None
    assert settings.database_url == "sqlite+aiosqlite:///./data/bot.db"
