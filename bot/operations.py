"""What an operator runs beside the bot: `python -m bot audit` and `python -m bot backup FILE`."""

from __future__ import annotations

import sys
from pathlib import Path

from adapters.storage.audit import audit
from adapters.storage.backup import backup_sqlite, pg_dump_command
from adapters.storage.database import Database, is_sqlite, sqlite_path
from bot.config import Settings


async def audit_ledger(settings: Settings) -> int:
    """Check the books on the configured database: 0 when sound, 1 with each violation printed."""
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        print(f"audit: no SQLite database at {missing}", file=sys.stderr)
        return 2
    database = Database(settings.database_url)
    await database.start()
    try:
        problems = await database.read(audit)
    finally:
        await database.close()
    for problem in problems:
        print(f"ledger violation: {problem}")
    if problems:
        print(f"audit: {len(problems)} violation(s)", file=sys.stderr)
        return 1
    print("audit: the ledger is sound")
    return 0


def missing_sqlite_file(url: str) -> str | None:
    """The SQLite file the URL names when it does not exist (opening it would create it)."""
    if not is_sqlite(url):
        return None
    path = sqlite_path(url)
    return None if path is not None and Path(path).is_file() else str(path)


def backup(settings: Settings, target: Path) -> int:
    """A consistent copy of a SQLite database (while the bot runs); for PostgreSQL, the
    `pg_dump` command to run (nothing is written here, so the exit status is 3)."""
    if not is_sqlite(settings.database_url):
        print("backup: the database is PostgreSQL; run (with PGPASSWORD set if it needs one):")
        print(pg_dump_command(settings.database_url, target))
        return 3
    path = sqlite_path(settings.database_url)
    try:
        size = backup_sqlite(Path(path or ""), target)
    except (OSError, ValueError) as error:
        print(f"backup: {error}", file=sys.stderr)
        return 2
    print(f"backup: {target} ({size} bytes)")
    return 0
