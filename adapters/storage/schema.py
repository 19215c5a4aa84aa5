"""Every table, imported once so that `metadata` is complete (for Alembic and the drift test)."""

from adapters.storage import (  # noqa: F401
    tables_jobs,
    tables_offers,
    tables_payments,
    tables_progress,
    tables_rewards,
    tables_top_ups,
)
from adapters.storage.tables import metadata

__all__ = ["metadata"]
