"""Tables of automatic top-up (SQLModel). Their migration: alembic/versions/0009_top_ups.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, Table
from sqlmodel import Field, SQLModel

from adapters.storage import tables  # noqa: F401 - the shared metadata (naming convention) first


class AutoTopUpRow(SQLModel, table=True):
    """A wallet's standing order: which pack to buy below which line, and the saved card."""

    __tablename__ = "auto_top_ups"
    __table_args__ = (CheckConstraint("threshold > 0", name="threshold_positive"),)

    wallet_id: int = Field(primary_key=True, foreign_key="accounts.id")
    person_id: int = Field(foreign_key="persons.id")
    identity: str = Field(max_length=80)  # where receipts and pauses are said
    pack_id: str = Field(max_length=40)
    threshold: int = Field(sa_type=BigInteger)
    state: str = Field(max_length=10)  # setup | on | paused
    customer_id: str | None = Field(default=None, max_length=255)
    payment_method_id: str | None = Field(default=None, max_length=255)
    paused_reason: str | None = Field(default=None, max_length=40)
    setup_order_id: str | None = Field(default=None, max_length=40)
    setup_expires_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TopUpRow(SQLModel, table=True):
    """One automatic charge (or the day's one "limit reached"), under its idempotency key:
    `topup:<wallet>:<ledger entry that crossed the line>`. `in_flight` holds the wallet id while
    the charge is due or waiting for its webhook, NULL after: unique, so a wallet never has two
    top-ups in flight whatever the number of processes."""

    __tablename__ = "top_ups"
    __table_args__ = (Index("ix_top_ups_wallet_created", "wallet_id", "created_at"),)

    key: str = Field(primary_key=True, max_length=200)
    wallet_id: int = Field(foreign_key="accounts.id")
    pack_id: str = Field(max_length=40)
    amount: int = Field(sa_type=BigInteger)  # minor units; 0 for a "limit reached" row
    currency: str = Field(max_length=3)
    state: str = Field(max_length=10)  # due | charged | succeeded | failed | capped
    in_flight: int | None = Field(default=None, unique=True)
    order_id: str | None = Field(default=None, max_length=40, unique=True)
    payment_intent_id: str | None = Field(default=None, max_length=255)
    failure: str | None = Field(default=None, max_length=40)
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


auto_top_ups: Table = AutoTopUpRow.__table__  # type: ignore[attr-defined]
top_ups: Table = TopUpRow.__table__  # type: ignore[attr-defined]
