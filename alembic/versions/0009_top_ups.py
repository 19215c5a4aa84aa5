"""automatic top-up (auto_top_ups, top_ups) and orders.credits_unrecovered

Revision ID: 0009
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401

from alembic import op

revision: str = "0009"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auto_top_ups",
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("pack_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("payment_method_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("paused_reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("setup_order_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("setup_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("threshold > 0", name=op.f("ck_auto_top_ups_threshold_positive")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_auto_top_ups_person_id_persons")),
        sa.ForeignKeyConstraint(["wallet_id"], ["accounts.id"], name=op.f("fk_auto_top_ups_wallet_id_accounts")),
        sa.PrimaryKeyConstraint("wallet_id", name=op.f("pk_auto_top_ups")),
    )
    op.create_table(
        "top_ups",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("pack_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("in_flight", sa.Integer(), nullable=True),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("payment_intent_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("failure", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["wallet_id"], ["accounts.id"], name=op.f("fk_top_ups_wallet_id_accounts")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_top_ups")),
        sa.UniqueConstraint("in_flight", name=op.f("uq_top_ups_in_flight")),
        sa.UniqueConstraint("order_id", name=op.f("uq_top_ups_order_id")),
    )
    with op.batch_alter_table("top_ups", schema=None) as batch_op:
        batch_op.create_index("ix_top_ups_wallet_created", ["wallet_id", "created_at"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credits_unrecovered", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("credits_unrecovered")

    with op.batch_alter_table("top_ups", schema=None) as batch_op:
        batch_op.drop_index("ix_top_ups_wallet_created")

    op.drop_table("top_ups")
    op.drop_table("auto_top_ups")
