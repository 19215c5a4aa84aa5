"""smaller ledger indexes: holds still held by expiry, transfers that name an order; no index of
holds by wallet (holds are found by key, and wallets are never deleted)

Every hold placed and resolved, and every transfer, updated these indexes on the ledger's
hottest path; the queries that use them only ever ask for held holds and for an order's
transfers.

Revision ID: 0016
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HELD = "state = 'held'"
_WITH_ORDER = "order_ref IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_state_expires")
        batch_op.drop_index("ix_holds_account_id")
        batch_op.create_index(
            "ix_holds_held_expires",
            ["expires_at"],
            unique=False,
            sqlite_where=sa.text(_HELD),
            postgresql_where=sa.text(_HELD),
        )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_transfers_order_ref")
        batch_op.create_index(
            "ix_transfers_order_ref",
            ["order_ref"],
            unique=False,
            sqlite_where=sa.text(_WITH_ORDER),
            postgresql_where=sa.text(_WITH_ORDER),
        )


def downgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_transfers_order_ref")
        batch_op.create_index("ix_transfers_order_ref", ["order_ref"], unique=False)
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_held_expires")
        batch_op.create_index("ix_holds_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_holds_state_expires", ["state", "expires_at"], unique=False)
