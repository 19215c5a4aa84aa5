"""`python -m bot audit` and `python -m bot backup FILE` on the configured database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.storage.database import Database, sqlite_path
from adapters.storage.ledger import SqlLedgerStore
from bot.cli import main
from tests.integration.test_ledger import new_wallet

ROOT = Path(__file__).resolve().parents[2]


def run_bot(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    env.update(PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING", DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


async def inflate_a_wallet(database, wallet_id: int) -> None:
    """Credits out of nowhere: a running total no transfer explains."""
    await database.write(
        lambda conn: conn.execute(
            text("UPDATE accounts SET credits_posted = credits_posted + 5 WHERE id = :id"), {"id": wallet_id}
        )
    )


async def test_audit_exits_zero_on_sound_books_and_one_on_a_violation(store, database, db_url, tmp_path):
    wallet = await new_wallet(store, "ann")
    sound = run_bot("audit", database_url=db_url, cwd=tmp_path)
    assert (sound.returncode, sound.stdout) == (0, "audit: the ledger is sound\n"), sound.stderr

    await inflate_a_wallet(database, wallet)
    broken = run_bot("audit", database_url=db_url, cwd=tmp_path)
    assert broken.returncode == 1, broken.stderr
    assert "ledger violation: " in broken.stdout
    assert "violation(s)" in broken.stderr


def test_audit_of_a_missing_sqlite_file_says_so_and_creates_nothing(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "nowhere" / "bot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    assert main(["audit"]) == 2
    assert f"no SQLite database at {missing}" in capsys.readouterr().err
    assert not missing.parent.exists()


async def test_backup_copies_what_is_committed_while_a_write_is_under_way(sqlite_url, tmp_path, monkeypatch):
    async with Database(sqlite_url) as database:
        await new_wallet(SqlLedgerStore(database), "ann")
    path = sqlite_path(sqlite_url)
    assert path is not None
    writer = sqlite3.connect(path)
    writer.execute("BEGIN IMMEDIATE")  # a transaction in flight: not in the copy
    writer.execute("UPDATE accounts SET credits_posted = credits_posted + 5")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    target = tmp_path / "backups" / "copy.db"
    try:
        assert main(["backup", str(target)]) == 0
    finally:
        writer.rollback()
        writer.close()

    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        identities = copy.execute("SELECT key FROM identities").fetchall()
    assert identities == [("console:ann",)]
    assert not (tmp_path / "backups" / "copy.db.part").exists()
    audited = run_bot("audit", database_url=f"sqlite+aiosqlite:///{target}", cwd=tmp_path)
    assert audited.returncode == 0, audited.stdout + audited.stderr


def test_backup_refuses_to_overwrite_the_database_itself(sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    path = sqlite_path(sqlite_url)
    assert path is not None
    before = Path(path).read_bytes()
    assert main(["backup", path]) == 2
    assert "cannot be the database itself" in capsys.readouterr().err
    assert Path(path).read_bytes() == before


@pytest.mark.postgres
def test_backup_on_postgresql_prints_the_pg_dump_command_without_the_password(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot:s3cret@db.internal:5433/credits")
    assert main(["backup", str(tmp_path / "credits.dump")]) == 3
    out = capsys.readouterr().out
    assert (
        f"pg_dump --format=custom --file={tmp_path / 'credits.dump'} --host=db.internal --port=5433 "
        "--username=bot credits" in out
    )
    assert "s3cret" not in out
    assert not (tmp_path / "credits.dump").exists()
