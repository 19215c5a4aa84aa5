"""The schema, as SQLModel tables: the one definition Alembic's metadata and every statement
(`adapters.storage.sql`) are built from. Changes go through an Alembic migration (`alembic/`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, MetaData, Table, text
from sqlmodel import Field, SQLModel

# Stable constraint names so migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING)
metadata = SQLModel.metadata


def _utc() -> Column[dt.datetime]:
    return Column(DateTime(timezone=True), nullable=False)


def _utc_nullable() -> Column[dt.datetime | None]:
    return Column(DateTime(timezone=True), nullable=True)


class PersonRow(SQLModel, table=True):
    __tablename__ = "persons"

    id: int | None = Field(default=None, primary_key=True)
    created_at: dt.datetime = Field(sa_column=_utc())
    language: str | None = Field(default=None, max_length=16)  # chosen with /language
    seen_language: str | None = Field(default=None, max_length=16)  # what their platform said last


class IdentityRow(SQLModel, table=True):
    """`discord:123` → person. The primary key makes first contact race-safe."""

    __tablename__ = "identities"

    key: str = Field(primary_key=True, max_length=80)
    person_id: int = Field(foreign_key="persons.id", index=True)
    created_at: dt.datetime = Field(sa_column=_utc())


class AccountRow(SQLModel, table=True):
    """A wallet (person or server) or a system source/sink. Running totals, TigerBeetle style."""

    __tablename__ = "accounts"
    __table_args__ = (
        # Backstop for the guarded UPDATEs: only system accounts and frozen (disputed) wallets
        # may go below zero.
        CheckConstraint(
            "kind = 'system' OR frozen OR credits_posted - debits_posted - debits_pending >= 0",
            name="not_overdrawn",
        ),
        CheckConstraint("debits_pending >= 0", name="pending_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # person | server | system
    owner_key: str = Field(max_length=100, unique=True)  # person:<id>, discord_guild:<id>, system:<name>
    credits_posted: int = Field(default=0, sa_type=BigInteger)
    debits_posted: int = Field(default=0, sa_type=BigInteger)
    debits_pending: int = Field(default=0, sa_type=BigInteger)
    frozen: bool = Field(default=False)
    created_at: dt.datetime = Field(sa_column=_utc())


class TransferRow(SQLModel, table=True):
    """One posted movement: debit one account, credit another. `key` is its idempotency key."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_transfers_debit_created", "debit_account_id", "id"),
        Index("ix_transfers_credit_created", "credit_account_id", "id"),
        # The referral notices' sweep: the referral payouts of the last day (migration 0007).
        Index(
            "ix_transfers_referral_created",
            "created_at",
            sqlite_where=text("reason = 'referral'"),
            postgresql_where=text("reason = 'referral'"),
        ),
        # A purchase's movements (refunds, disputes): most transfers name no order, and are not
        # indexed here (migration 0016).
        Index(
            "ix_transfers_order_ref",
            "order_ref",
            sqlite_where=text("order_ref IS NOT NULL"),
            postgresql_where=text("order_ref IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    debit_account_id: int = Field(foreign_key="accounts.id")
    credit_account_id: int = Field(foreign_key="accounts.id")
    amount: int = Field(sa_type=BigInteger)
    reason: str = Field(max_length=20)
    order_ref: str | None = Field(default=None, max_length=100)
    memo: str = Field(default="", max_length=300)
    created_at: dt.datetime = Field(sa_column=_utc())


class HoldRow(SQLModel, table=True):
    """Credits reserved for a job. Resolves once: captured, released or expired."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # The expiry sweep's scan, and the count of what is held: only holds still held
        # (migration 0016; every hold placed and resolved no longer touches it twice).
        Index(
            "ix_holds_held_expires",
            "expires_at",
            sqlite_where=text("state = 'held'"),
            postgresql_where=text("state = 'held'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    # No index: holds are found by key, and accounts are never deleted (migration 0016).
    account_id: int = Field(foreign_key="accounts.id")
    amount: int = Field(sa_type=BigInteger)
    state: str = Field(max_length=10)  # held | captured | released | expired
    expires_at: dt.datetime = Field(sa_column=_utc())
    created_at: dt.datetime = Field(sa_column=_utc())
    resolved_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())


class LotRow(SQLModel, table=True):
    """Where a wallet's posted credits came from, so free credits are spent first and a refund
    finds the unspent credits of its purchase. Sum of `remaining` = max(posted balance, 0)."""

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
        CheckConstraint("remaining <= granted", name="remaining_within_granted"),
        Index("ix_lots_spend_order", "account_id", "kind", "expires_at", "id"),
        # The expiry sweep's scan: lots that can still expire (migration 0006).
        Index(
            "ix_lots_expiring",
            "expires_at",
            sqlite_where=text("remaining > 0 AND expires_at IS NOT NULL"),
            postgresql_where=text("remaining > 0 AND expires_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id")
    kind: str = Field(max_length=10)  # free | paid
    granted: int = Field(sa_type=BigInteger)
    remaining: int = Field(sa_type=BigInteger)
    transfer_key: str = Field(max_length=200)
    pack_id: str | None = Field(default=None, max_length=40)
    order_ref: str | None = Field(default=None, max_length=100, index=True)
    expires_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    created_at: dt.datetime = Field(sa_column=_utc())


# The Table objects the statements are built from (`adapters.storage.sql`).
persons: Table = PersonRow.__table__  # type: ignore[attr-defined]
identities: Table = IdentityRow.__table__  # type: ignore[attr-defined]
accounts: Table = AccountRow.__table__  # type: ignore[attr-defined]
transfers: Table = TransferRow.__table__  # type: ignore[attr-defined]
holds: Table = HoldRow.__table__  # type: ignore[attr-defined]
lots: Table = LotRow.__table__  # type: ignore[attr-defined]
