"""rewards tables: reward claims, referrals, email verification, link codes, person links, support

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "reward_claims",
        sa.Column("key", _str(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", _str(length=20), nullable=False),
        sa.Column("day", _str(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_reward_claims_person_id_persons")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_reward_claims")),
    )
    with op.batch_alter_table("reward_claims", schema=None) as batch_op:
        batch_op.create_index("ix_reward_claims_person_day", ["person_id", "day", "kind"], unique=False)

    op.create_table(
        "referral_codes",
        sa.Column("code", _str(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_referral_codes_person_id_persons")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_referral_codes")),
    )
    with op.batch_alter_table("referral_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_codes_person_id"), ["person_id"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("referred_person_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("referrer_person_id", sa.Integer(), nullable=False),
        sa.Column("code", _str(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("qualified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("referred_state", _str(length=10), nullable=True),
        sa.Column("referred_settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("referrer_state", _str(length=10), nullable=True),
        sa.Column("referrer_settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["referred_person_id"],
            ["persons.id"],
            name=op.f("fk_referrals_referred_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["referrer_person_id"],
            ["persons.id"],
            name=op.f("fk_referrals_referrer_person_id_persons"),
        ),
        sa.PrimaryKeyConstraint("referred_person_id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_referrer_person_id"), ["referrer_person_id"], unique=False)

    op.create_table(
        "email_verifications",
        sa.Column("person_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("address", _str(length=254), nullable=False),
        sa.Column("code_digest", _str(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_email_verifications_person_id_persons")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_email_verifications")),
    )

    op.create_table(
        "verified_emails",
        sa.Column("address", _str(length=254), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_verified_emails_person_id_persons")),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_verified_emails")),
    )
    with op.batch_alter_table("verified_emails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verified_emails_person_id"), ["person_id"], unique=False)

    op.create_table(
        "link_codes",
        sa.Column("code_digest", _str(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_link_codes_person_id_persons")),
        sa.PrimaryKeyConstraint("code_digest", name=op.f("pk_link_codes")),
    )
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_codes_person_id"), ["person_id"], unique=False)

    op.create_table(
        "person_links",
        sa.Column("absorbed_person_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("survivor_person_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["absorbed_person_id"],
            ["persons.id"],
            name=op.f("fk_person_links_absorbed_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["survivor_person_id"],
            ["persons.id"],
            name=op.f("fk_person_links_survivor_person_id_persons"),
        ),
        sa.PrimaryKeyConstraint("absorbed_person_id", name=op.f("pk_person_links")),
    )
    with op.batch_alter_table("person_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_links_survivor_person_id"), ["survivor_person_id"], unique=False)

    op.create_table(
        "support_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("identity", _str(length=80), nullable=False),
        sa.Column("text", _str(length=2000), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("last_job", _str(length=300), nullable=True),
        sa.Column("status", _str(length=10), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_support_tickets_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_tickets")),
    )
    with op.batch_alter_table("support_tickets", schema=None) as batch_op:
        batch_op.create_index("ix_support_tickets_person_created", ["person_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_support_tickets_status"), ["status"], unique=False)

    op.create_table(
        "support_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("request_id", _str(length=100), nullable=False),
        sa.Column("operator", _str(length=80), nullable=False),
        sa.Column("text", _str(length=2000), nullable=False),
        sa.Column("granted", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_support_replies_ticket_id_support_tickets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_replies")),
        sa.UniqueConstraint("ticket_id", "request_id", name=op.f("uq_support_replies_ticket_id")),
    )


def downgrade() -> None:
    op.drop_table("support_replies")
    with op.batch_alter_table("support_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_tickets_status"))
        batch_op.drop_index("ix_support_tickets_person_created")
    op.drop_table("support_tickets")
    with op.batch_alter_table("person_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_links_survivor_person_id"))
    op.drop_table("person_links")
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_codes_person_id"))
    op.drop_table("link_codes")
    with op.batch_alter_table("verified_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verified_emails_person_id"))
    op.drop_table("verified_emails")
    op.drop_table("email_verifications")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_referrer_person_id"))
    op.drop_table("referrals")
    with op.batch_alter_table("referral_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_codes_person_id"))
    op.drop_table("referral_codes")
    with op.batch_alter_table("reward_claims", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_claims_person_day")
    op.drop_table("reward_claims")
