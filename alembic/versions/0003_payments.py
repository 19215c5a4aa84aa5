"""payments tables: orders, payment_events

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_events",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_payment_events")),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_events_order_id"), ["order_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("request_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("pack_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("stripe_session_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("checkout_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("payment_intent_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("telegram_charge_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("amount_disputed", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_refunded >= 0 AND amount_disputed >= 0",
            name=op.f("ck_orders_returns_not_negative"),
        ),
        sa.CheckConstraint("credits > 0 AND amount > 0", name=op.f("ck_orders_positive")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_orders_person_id_persons")),
        sa.ForeignKeyConstraint(["wallet_id"], ["accounts.id"], name=op.f("fk_orders_wallet_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("payment_intent_id", name=op.f("uq_orders_payment_intent_id")),
        sa.UniqueConstraint("request_key", name=op.f("uq_orders_request_key")),
        sa.UniqueConstraint("stripe_session_id", name=op.f("uq_orders_stripe_session_id")),
        sa.UniqueConstraint("telegram_charge_id", name=op.f("uq_orders_telegram_charge_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_person_id"))
    op.drop_table("orders")
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_events_order_id"))
    op.drop_table("payment_events")
