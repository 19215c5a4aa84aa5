"""achievements: what each person earned, once per (person, kind)

Revision ID: 0011
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0011"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "achievements",
        sa.Column("person_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", _str(length=20), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_achievements_person_id_persons")),
        sa.PrimaryKeyConstraint("person_id", "kind", name=op.f("pk_achievements")),
    )


def downgrade() -> None:
    op.drop_table("achievements")
