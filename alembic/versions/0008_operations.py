"""priced operations: jobs.operation (music, prompt, speech, voicetag), jobs.text, jobs.voice;
job_outputs (a delivered music clip, kept for a voice tag)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False, server_default="music")
        )
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("voice", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
    op.create_table(
        "job_outputs",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_outputs_job_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_outputs")),
    )


def downgrade() -> None:
    op.drop_table("job_outputs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("voice")
        batch_op.drop_column("text")
        batch_op.drop_column("operation")
