"""Backups of the database: a consistent SQLite copy through SQLite's online backup API (safe
while the bot runs and writes), or the `pg_dump` command that does the same for PostgreSQL."""

from __future__ import annotations

import os
import shlex
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

PAGES_PER_STEP = 1024  # copy in steps so a running bot's writers are held up only briefly


def backup_sqlite(database: Path, target: Path) -> int:
    """Copy `database` into `target` (replaced only once the copy is whole); returns its size."""
    if not database.is_file():
        raise FileNotFoundError(f"no SQLite database at {database}")
    if target.resolve() == database.resolve():
        raise ValueError("the backup cannot be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=PAGES_PER_STEP)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target)
    return target.stat().st_size


def pg_dump_command(url: str, target: Path) -> str:
    """The shell command that dumps the PostgreSQL database at `url` into `target` (custom
    format, for `pg_restore`). The password is never printed: pg_dump reads PGPASSWORD."""
    parts = make_url(url)
    words = ["pg_dump", "--format=custom", f"--file={target}"]
    if parts.host:
        words.append(f"--host={parts.host}")
    if parts.port:
        words.append(f"--port={parts.port}")
    if parts.username:
        words.append(f"--username={parts.username}")
    words.append(parts.database or "postgres")
    return shlex.join(words)
