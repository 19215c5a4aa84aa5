"""Tables of the progress area (SQLModel). Their migration: alembic/versions/0011_achievements.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, DateTime, Table
from sqlmodel import Field, SQLModel

from adapters.storage import tables  # noqa: F401 - the shared metadata (naming convention) first


class AchievementRow(SQLModel, table=True):
    """An achievement a person earned: once per (person, kind), whatever races. `credits` is what
    it paid (0 when it pays nothing or today's free allowance was used up)."""

    __tablename__ = "achievements"

    person_id: int = Field(foreign_key="persons.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(primary_key=True, max_length=20)
    credits: int = Field(default=0, sa_type=BigInteger)
    earned_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


# The Table objects the statements are built from (`adapters.storage.sql`).
achievements: Table = AchievementRow.__table__  # type: ignore[attr-defined]
