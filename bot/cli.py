"""`python -m bot [run|migrate|stats|economics|reconcile-payments|sync-commands|audit|backup FILE|experiment|
locales]`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logging import configure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="The MusicGen credit bot.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start every configured adapter (the default)")
    sub.add_parser("migrate", help="upgrade the database schema to the latest migration")
    reconcile = sub.add_parser(
        "reconcile-payments", help="fulfil paid Stripe Checkout sessions whose webhook was missed"
    )
    reconcile.add_argument(
        "--hours", type=float, default=72.0, help="look at sessions created in the last N hours (default 72)"
    )
    stats = sub.add_parser("stats", help="print usage figures: today, 7 and 30 days")
    stats.add_argument(
        "--days",
        type=int,
        default=None,
        help="instead: the success metrics of the last N UTC days, today included (1-366), as the dashboard shows them",
    )
    economics = sub.add_parser("economics", help="print what jobs cost, what their credits brought in, and the margin")
    economics.add_argument("--days", type=int, default=30, help="the last N days (default 30)")
    sync = sub.add_parser("sync-commands", help="publish the Discord slash commands globally")
    sync.add_argument("--guild", type=int, default=None, help="only to this server id (shows at once; for testing)")
    experiment = sub.add_parser("experiment", help="pricing experiments: start, stop, report")
    actions = experiment.add_subparsers(dest="action", required=True)
    start = actions.add_parser(
        "start",
        help="start one: <id> <arm>[:<weight>]=<pack>:<credits>:<cents>[:<stars>],... (the first arm is the control)",
    )
    start.add_argument("definition", nargs="+", help="the id, then one word per arm")
    actions.add_parser("stop", help="stop the running one: everyone is offered the default packs again")
    report = actions.add_parser("report", help="per arm: people, views, payers, conversion, revenue, p-value")
    report.add_argument("id", nargs="?", default=None, help="which experiment (default: the running, else the latest)")
    sub.add_parser("audit", help="check the ledger's books; exits 1 on a violation")
    backup = sub.add_parser("backup", help="copy the SQLite database consistently (prints pg_dump for PostgreSQL)")
    backup.add_argument("file", type=Path, help="where to write the copy")
    locales = sub.add_parser("locales", help="keep the translations in step with the English catalogue")
    locales.add_argument(
        "action",
        choices=("update", "check", "init"),
        help="update: extract the English and merge it into every .po; check: list what each language "
        "lacks; init: start a new language",
    )
    locales.add_argument("language", nargs="?", help="for init: the new language's code, e.g. de")
    args = parser.parse_args(argv)
    if args.command == "locales":
        return manage_locales(args.action, args.language)

    try:
        settings = load_settings()
    except ConfigError as error:
        for problem in error.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    configure(settings.log_level, settings.log_format)

    if args.command == "migrate":
        from adapters.storage.migrations import upgrade

        asyncio.run(upgrade(settings.database_url))
        print("database is at the latest migration")
        return 0
    if args.command == "audit":
        from bot.operations import audit_ledger

        return asyncio.run(audit_ledger(settings))
    if args.command == "backup":
        from bot.operations import backup as backup_database

        return backup_database(settings, args.file)
    if args.command == "reconcile-payments":
        return asyncio.run(reconcile_payments(settings, args.hours))
    if args.command == "stats":
        if args.days is not None:
            if not 1 <= args.days <= 366:
                print("stats: --days must be from 1 to 366", file=sys.stderr)
                return 2
            return asyncio.run(print_insight(settings, args.days))
        return asyncio.run(print_stats(settings))
    if args.command == "experiment":
        return asyncio.run(run_experiment(settings, args))
    if args.command == "economics":
        if not 1 <= args.days <= 3650:
            print("--days must be a whole number from 1 to 3650", file=sys.stderr)
            return 2
        return asyncio.run(print_economics(settings, args.days))
    if args.command == "sync-commands":
        if not settings.discord_bot_token:
            print("config error: DISCORD_BOT_TOKEN is not set", file=sys.stderr)
            return 2
        return asyncio.run(sync_discord_commands(settings, args.guild))

    from bot.runtime import run

    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    return 0


def manage_locales(action: str, language: str | None) -> int:
    """`python -m bot locales update|check|init <language>` (no settings needed)."""
    from adapters.chat.locales import tool

    if action == "init":
        if not language:
            print("locales init needs a language code, e.g. `python -m bot locales init de`", file=sys.stderr)
            return 2
        print(f"wrote {tool.init(language)}; translate it, then `python -m bot locales check`")
        return 0
    if action == "update":
        for line in tool.update():
            print(line)
        return 0
    problems = tool.check()
    for problem in problems:
        print(problem)
    print("every language is complete" if not problems else f"{len(problems)} to fix")
    return 1 if problems else 0


async def reconcile_payments(settings: Settings, hours: float) -> int:
    """Fulfil paid sessions whose webhook was missed."""
    from adapters.storage.migrations import upgrade
    from bot.bootstrap import build_app

    await upgrade(settings.database_url)
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


async def print_stats(settings: Settings) -> int:
    """The operators' figures in the terminal."""
    from adapters.chat.stats import StatsWords
    from adapters.storage.migrations import upgrade
    from bot.bootstrap import build_app

    await upgrade(settings.database_url)
    app = await build_app(settings)
    try:
        print(StatsWords(app.catalogue).report(await app.rewards.stats.report()))
    finally:
        await app.close()
    return 0


async def run_experiment(settings: Settings, args: argparse.Namespace) -> int:
    """`experiment start|stop|report`: the same service and words as `/admin experiment`."""
    from adapters.chat.experiments import ExperimentWords
    from adapters.storage.migrations import upgrade
    from bot.bootstrap import build_app
    from core.errors import BotError, InvalidExperiment

    await upgrade(settings.database_url)
    app = await build_app(settings)
    words = ExperimentWords(app.catalogue)
    try:
        if args.action == "start":
            print(words.started(await app.experiments.start(None, list(args.definition))))
        elif args.action == "stop":
            print(words.stopped(await app.experiments.stop(None)))
        else:
            print(words.report(await app.experiments.report(None, args.id)))
    except InvalidExperiment as refused:
        print(words.refusal(refused), file=sys.stderr)
        return 1
    except BotError as error:
        print(app.words.error(None, error), file=sys.stderr)
        return 1
    finally:
        await app.close()
    return 0


async def print_economics(settings: Settings, days: int) -> int:
    """The margin report in the terminal, with the losing prices of the same days."""
    from adapters.chat.economics import EconomicsWords
    from adapters.storage.migrations import upgrade
    from bot.bootstrap import build_app

    await upgrade(settings.database_url)
    app = await build_app(settings)
    try:
        assert app.economics is not None  # always there on a database
        report, losing = await app.economics.report(days)
        print(EconomicsWords(app.catalogue).report(report, losing))
    finally:
        await app.close()
    return 0


async def print_insight(settings: Settings, days: int) -> int:
    """The success metrics of the last `days` days: the figures of the dashboard, as text."""
    from adapters.chat.stats import StatsWords
    from adapters.storage.insight import read_insight
    from adapters.storage.migrations import upgrade
    from bot.bootstrap import build_app
    from core.domain.insight import last_days

    await upgrade(settings.database_url)
    app = await build_app(settings)
    try:
        assert app.database is not None
        span = last_days(days, app.clock.now().astimezone(dt.UTC).date())
        figures = await read_insight(app.database, span, settings.credit_rules().pricing.cheapest)
        print(StatsWords(app.catalogue).insight_report(figures))
    finally:
        await app.close()
    return 0


async def sync_discord_commands(settings: Settings, guild: int | None) -> int:
    """Publish the slash commands (globally, or to one server): the commands shown depend on
    what is configured."""
    from adapters.discord.platform import DiscordPlatform
    from adapters.storage.migrations import upgrade
    from bot.bootstrap import build_app

    await upgrade(settings.database_url)
    app = await build_app(settings)
    try:
        discord = next(p for p in app.chats if isinstance(p, DiscordPlatform))
        count = await discord.sync_commands(guild)
    finally:
        await app.close()
    where = f"to server {guild}" if guild else "globally (they may take a while to appear)"
    print(f"synced {count} commands {where}")
    return 0
