"""Tables of the payments area (SQLModel). Their migration: alembic/versions/0003_payments.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Table
from sqlmodel import Field, SQLModel

from adapters.storage import tables  # noqa: F401 - the shared metadata (naming convention) first


class OrderRow(SQLModel, table=True):
    """One purchase intent: a Stripe Checkout session or a Telegram Stars invoice.

    Written before the provider is asked for money; every later payment event is matched back
    to it by id, Checkout session, payment intent or Telegram charge id (each unique).
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("credits > 0 AND amount > 0", name="positive"),
        CheckConstraint("amount_refunded >= 0 AND amount_disputed >= 0", name="returns_not_negative"),
    )

    id: str = Field(primary_key=True, max_length=40)
    # "<channel>:<identity>:<request id>": a repeated request (double click, retried
    # interaction) finds the same order instead of making a second one.
    request_key: str = Field(max_length=200, unique=True)
    person_id: int = Field(foreign_key="persons.id", index=True)
    wallet_id: int = Field(foreign_key="accounts.id")
    identity: str = Field(max_length=80)
    channel: str = Field(max_length=10)  # stripe | stars | discord
    pack_id: str = Field(max_length=40)
    credits: int = Field(sa_type=BigInteger)
    amount: int = Field(sa_type=BigInteger)  # minor units (cents, Stars)
    currency: str = Field(max_length=3)
    state: str = Field(max_length=10)  # open | paid | closed | refunded | disputed
    stripe_session_id: str | None = Field(default=None, max_length=255, unique=True)
    checkout_url: str | None = Field(default=None, max_length=2048)
    payment_intent_id: str | None = Field(default=None, max_length=255, unique=True)
    telegram_charge_id: str | None = Field(default=None, max_length=255, unique=True)
    amount_refunded: int = Field(default=0, sa_type=BigInteger)  # cumulative, as reported
    amount_disputed: int = Field(default=0, sa_type=BigInteger)
    # Credits a refund or a deleted entitlement could not take back (spent): for the operator.
    credits_unrecovered: int = Field(default=0, sa_type=BigInteger)
    expires_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    paid_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    # The pricing experiment and arm whose pack terms (credits, amount above) this order sells.
    experiment: str | None = Field(default=None, max_length=32)
    arm: str | None = Field(default=None, max_length=32)
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PaymentEventRow(SQLModel, table=True):
    """Every payment event we acted on, under its provider's id (`stripe:evt_...`,
    `telegram:payment:<charge id>`), inserted in the same transaction as its effect: a
    redelivery finds its key and changes nothing."""

    __tablename__ = "payment_events"

    key: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=60)
    order_id: str | None = Field(default=None, max_length=40, index=True)
    outcome: str = Field(max_length=20)
    detail: str = Field(default="", max_length=60)
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


# The Table objects the statements are built from (`adapters.storage.sql`).
orders: Table = OrderRow.__table__  # type: ignore[attr-defined]
payment_events: Table = PaymentEventRow.__table__  # type: ignore[attr-defined]
