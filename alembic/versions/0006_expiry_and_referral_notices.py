"""free-credit expiry sweep index (lots.ix_lots_expiring) and referral payout notices

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXPIRING = "remaining > 0 AND expires_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lots_expiring",
            ["expires_at"],
            unique=False,
            sqlite_where=sa.text(_EXPIRING),
            postgresql_where=sa.text(_EXPIRING),
        )

    op.create_table(
        "referral_notices",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_referral_notices_person_id_persons")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_referral_notices")),
    )
    with op.batch_alter_table("referral_notices", schema=None) as batch_op:
        batch_op.create_index("ix_referral_notices_state_claimed", ["state", "claimed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referral_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_notices_state_claimed")
    op.drop_table("referral_notices")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_index("ix_lots_expiring")
