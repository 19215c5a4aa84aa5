"""referral payouts index (transfers.ix_transfers_referral_created) for the notices' sweep

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFERRAL = "reason = 'referral'"


def upgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transfers_referral_created",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text(_REFERRAL),
            postgresql_where=sa.text(_REFERRAL),
        )


def downgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_transfers_referral_created")
