"""pricing experiments (experiments), offer events (offer_events), and the experiment arm an
order was priced under (orders.experiment, orders.arm)

Revision ID: 0010
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0010"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("definition", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("running", name=op.f("uq_experiments_running")),
    )
    op.create_table(
        "offer_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("pack_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("experiment", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("arm", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_offer_events_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_events")),
        sa.UniqueConstraint("order_id", name=op.f("uq_offer_events_order_id")),
    )
    with op.batch_alter_table("offer_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_events_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_offer_events_experiment_arm", ["experiment", "arm", "kind"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("experiment", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column("arm", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("arm")
        batch_op.drop_column("experiment")

    with op.batch_alter_table("offer_events", schema=None) as batch_op:
        batch_op.drop_index("ix_offer_events_experiment_arm")
        batch_op.drop_index(batch_op.f("ix_offer_events_account_id"))

    op.drop_table("offer_events")
    op.drop_table("experiments")
