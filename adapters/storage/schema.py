"""Every table, imported once so that `metadata` is complete (for Alembic and the drift test)."""

from adapters.storage import tables_jobs, tables_offers, tables_payments, tables_rewards, tables_top_ups  # noqa: F401
from adapters.storage.tables import metadata

__all__ = ["metadata"]
