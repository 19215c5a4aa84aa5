"""Tables of pricing experiments and offer events (SQLModel). Their migration:
alembic/versions/0010_experiments_and_offer_events.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, DateTime, Index, Table
from sqlmodel import Field, SQLModel

from adapters.storage import tables  # noqa: F401 - the shared metadata (naming convention) first
from core.domain.experiments import MAX_DEFINITION


class ExperimentRow(SQLModel, table=True):
    """One pricing experiment, as the operator defined it (`core.domain.experiments`)."""

    __tablename__ = "experiments"

    id: str = Field(primary_key=True, max_length=32)
    definition: str = Field(max_length=MAX_DEFINITION)  # `definition_text`: arms, weights, packs
    # True while it runs, NULL once stopped: the unique constraint lets one run at a time.
    running: bool | None = Field(default=None, unique=True)
    started_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    stopped_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class OfferEventRow(SQLModel, table=True):
    """Packs shown to a wallet, a pack chosen (an order opened), a pack paid: for everyone, with
    the experiment and arm when one priced them."""

    __tablename__ = "offer_events"
    __table_args__ = (Index("ix_offer_events_experiment_arm", "experiment", "arm", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)  # the wallet
    kind: str = Field(max_length=10)  # shown | clicked | paid
    pack_id: str | None = Field(default=None, max_length=40)
    experiment: str | None = Field(default=None, max_length=32)
    arm: str | None = Field(default=None, max_length=32)
    # A payment's order: one 'paid' event per order (written with the grant).
    order_id: str | None = Field(default=None, max_length=40, unique=True)
    amount: int | None = Field(default=None, sa_type=BigInteger)  # a payment's money, minor units
    currency: str | None = Field(default=None, max_length=3)
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


# The Table objects the statements are built from (`adapters.storage.sql`).
experiments: Table = ExperimentRow.__table__  # type: ignore[attr-defined]
offer_events: Table = OfferEventRow.__table__  # type: ignore[attr-defined]
