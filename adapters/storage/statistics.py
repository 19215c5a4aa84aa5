"""Planner statistics kept current while tables grow fast (PostgreSQL).

Why: PostgreSQL plans from statistics that autovacuum refreshes at most once a minute. On a
fresh database taking a burst (a launch, a thousand people at once) the tables grow from empty
within seconds, and until the next ANALYZE the planner guesses: it took the state index for a
job's update by id, walking every dead entry, 150 ms a statement instead of 0.1. So the bot
analyzes its own tables once they have changed much since their last ANALYZE, autovacuum's
rule with a shorter wait. `SKIP_LOCKED`: with several processes, one that finds a table being
analyzed by another leaves it.
"""

from __future__ import annotations

from sqlalchemy import Connection

from adapters.storage.tables import metadata

# A table is analyzed again once this many rows, plus this share of its rows, changed since
# its last ANALYZE: autovacuum's own defaults, looked at every few seconds instead of each minute.
CHANGED_ROWS = 50
CHANGED_SHARE = 0.1

_GROWN = (
    "SELECT relname FROM pg_stat_user_tables"
    " WHERE schemaname = current_schema() AND relname = ANY($1::text[])"
    " AND n_mod_since_analyze > $2::bigint + $3::float8 * greatest(n_live_tup, 0)"
    " ORDER BY relname"
)


def analyze_grown_tables(conn: Connection) -> list[str]:
    """ANALYZE the bot's tables that changed much since their last ANALYZE; their names.
    PostgreSQL only (SQLite's planner does not go wrong this way: it has no statistics unless
    asked, and prefers a unique index for an equality)."""
    if conn.dialect.name != "postgresql":
        return []
    grown = [
        str(row[0])
        for row in conn.exec_driver_sql(_GROWN, (sorted(metadata.tables), CHANGED_ROWS, CHANGED_SHARE)).fetchall()
    ]
    if grown:
        conn.exec_driver_sql(f"ANALYZE (SKIP_LOCKED) {', '.join(_quoted(name) for name in grown)}")
    return grown


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
