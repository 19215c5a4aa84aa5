"""Tables of the rewards area (SQLModel). Their migration: alembic/versions/0004_rewards.py.

Every credit movement still lives in the ledger (`transfers`, keyed by its cause); these tables
hold the state around it: who claimed which bonus on which day, referral codes and referrals,
email codes, link codes, merged persons and support tickets.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, DateTime, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from adapters.storage.tables import metadata  # noqa: F401 - the naming convention must be set first


def _utc() -> Column[dt.datetime]:
    return Column(DateTime(timezone=True), nullable=False)


def _utc_nullable() -> Column[dt.datetime | None]:
    return Column(DateTime(timezone=True), nullable=True)


class RewardClaimRow(SQLModel, table=True):
    """One paid bonus. `key` is also the ledger transfer's key; (person, day) sums give the
    free allowance used today. Re-pointed to the surviving person when accounts are linked."""

    __tablename__ = "reward_claims"
    __table_args__ = (Index("ix_reward_claims_person_day", "person_id", "day", "kind"),)

    key: str = Field(primary_key=True, max_length=200)
    person_id: int = Field(foreign_key="persons.id")
    kind: str = Field(max_length=20)  # daily | share | email | referral
    day: str = Field(max_length=10)  # UTC date, YYYY-MM-DD
    amount: int = Field(sa_type=BigInteger)
    created_at: dt.datetime = Field(sa_column=_utc())


class ReferralCodeRow(SQLModel, table=True):
    """A person's shareable referral code (the earliest one is shown; linking may add more)."""

    __tablename__ = "referral_codes"

    code: str = Field(primary_key=True, max_length=16)
    person_id: int = Field(foreign_key="persons.id", index=True)
    created_at: dt.datetime = Field(sa_column=_utc())


class ReferralRow(SQLModel, table=True):
    """One referrer per referred person (the primary key). Paid when the referred person's
    first generation succeeds; each side settles once (`paid`, or `capped` for the referrer)."""

    __tablename__ = "referrals"

    referred_person_id: int = Field(
        primary_key=True, foreign_key="persons.id", sa_column_kwargs={"autoincrement": False}
    )
    referrer_person_id: int = Field(foreign_key="persons.id", index=True)
    code: str = Field(max_length=16)
    created_at: dt.datetime = Field(sa_column=_utc())
    qualified_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    referred_state: str | None = Field(default=None, max_length=10)  # paid
    referred_settled_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    referrer_state: str | None = Field(default=None, max_length=10)  # paid | capped
    referrer_settled_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())


class EmailVerificationRow(SQLModel, table=True):
    """A person's pending email code (hashed) and the wrong-guess counter and lock."""

    __tablename__ = "email_verifications"

    person_id: int = Field(primary_key=True, foreign_key="persons.id", sa_column_kwargs={"autoincrement": False})
    address: str = Field(max_length=254)
    code_digest: str | None = Field(default=None, max_length=64)
    expires_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    sent_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    failed_attempts: int = Field(default=0)
    locked_until: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    created_at: dt.datetime = Field(sa_column=_utc())


class VerifiedEmailRow(SQLModel, table=True):
    """A verified address, unique across all persons (canonical form: lower case, no +tag)."""

    __tablename__ = "verified_emails"

    address: str = Field(primary_key=True, max_length=254)
    person_id: int = Field(foreign_key="persons.id", index=True)
    verified_at: dt.datetime = Field(sa_column=_utc())


class LinkCodeRow(SQLModel, table=True):
    """A one-time code that joins another identity to this person; stored hashed."""

    __tablename__ = "link_codes"

    code_digest: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="persons.id", index=True)
    expires_at: dt.datetime = Field(sa_column=_utc())
    used_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    created_at: dt.datetime = Field(sa_column=_utc())


class PersonLinkRow(SQLModel, table=True):
    """A person merged into another by account linking. Rows elsewhere that still name the
    absorbed person (jobs, orders) resolve to the survivor through this table."""

    __tablename__ = "person_links"

    absorbed_person_id: int = Field(
        primary_key=True, foreign_key="persons.id", sa_column_kwargs={"autoincrement": False}
    )
    survivor_person_id: int = Field(foreign_key="persons.id", index=True)
    linked_at: dt.datetime = Field(sa_column=_utc())


class SupportTicketRow(SQLModel, table=True):
    __tablename__ = "support_tickets"
    __table_args__ = (Index("ix_support_tickets_person_created", "person_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="persons.id")
    identity: str = Field(max_length=80)  # where the person wrote from: the reply goes there
    text: str = Field(max_length=2000)
    available: int = Field(sa_type=BigInteger)  # balance when the ticket was opened
    last_job: str | None = Field(default=None, max_length=300)
    status: str = Field(default="open", max_length=10, index=True)  # open | answered
    forwarded_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    created_at: dt.datetime = Field(sa_column=_utc())
    answered_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())


class SupportReplyRow(SQLModel, table=True):
    """An operator's answer; (ticket, request) is unique so a repeated command is already done."""

    __tablename__ = "support_replies"
    __table_args__ = (UniqueConstraint("ticket_id", "request_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="support_tickets.id")
    request_id: str = Field(max_length=100)
    operator: str = Field(max_length=80)
    text: str = Field(max_length=2000)
    granted: int = Field(default=0, sa_type=BigInteger)
    delivered_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    created_at: dt.datetime = Field(sa_column=_utc())


class ReferralNoticeRow(SQLModel, table=True):
    """Whether a referral payout was announced to the person paid (`core.domain.notices`).
    `key` is the payout's ledger key (`referral:<referred>:<side>`); the row is written before
    the message is sent, so it is sent at most once. Migration: 0006."""

    __tablename__ = "referral_notices"
    __table_args__ = (Index("ix_referral_notices_state_claimed", "state", "claimed_at"),)

    key: str = Field(primary_key=True, max_length=200)
    person_id: int = Field(foreign_key="persons.id")
    state: str = Field(max_length=10)  # sending | sent | failed
    attempts: int = Field(default=1)
    claimed_at: dt.datetime = Field(sa_column=_utc())
    sent_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())


# The Table objects the statements are built from (`adapters.storage.sql`).
reward_claims: Table = RewardClaimRow.__table__  # type: ignore[attr-defined]
referral_codes: Table = ReferralCodeRow.__table__  # type: ignore[attr-defined]
referrals: Table = ReferralRow.__table__  # type: ignore[attr-defined]
email_verifications: Table = EmailVerificationRow.__table__  # type: ignore[attr-defined]
verified_emails: Table = VerifiedEmailRow.__table__  # type: ignore[attr-defined]
link_codes: Table = LinkCodeRow.__table__  # type: ignore[attr-defined]
person_links: Table = PersonLinkRow.__table__  # type: ignore[attr-defined]
support_tickets: Table = SupportTicketRow.__table__  # type: ignore[attr-defined]
support_replies: Table = SupportReplyRow.__table__  # type: ignore[attr-defined]
referral_notices: Table = ReferralNoticeRow.__table__  # type: ignore[attr-defined]
