"""jobs tables: jobs, job_inputs

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reply_to", sa.Text(), nullable=False),
        sa.Column("style", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("prediction_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("output_url", sa.Text(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("error_detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("worker_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_job_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('queued', 'submitted', 'running', 'delivering', 'succeeded', 'failed', 'canceled', 'expired')",
            name=op.f("ck_jobs_state_known"),
        ),
        sa.CheckConstraint("cost > 0", name=op.f("ck_jobs_cost_positive")),
        sa.CheckConstraint("seconds > 0", name=op.f("ck_jobs_seconds_positive")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_jobs_person_id_persons")),
        sa.ForeignKeyConstraint(["wallet_id"], ["accounts.id"], name=op.f("fk_jobs_wallet_id_accounts")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_jobs")),
        sa.UniqueConstraint("id", name=op.f("uq_jobs_id")),
        sa.UniqueConstraint("prediction_id", name=op.f("uq_jobs_prediction_id")),
        sa.UniqueConstraint("request_key", name=op.f("uq_jobs_request_key")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_person_state", ["person_id", "state"], unique=False)
        batch_op.create_index("ix_jobs_state_seq", ["state", "seq"], unique=False)

    op.create_table(
        "job_inputs",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_inputs_job_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_inputs")),
    )


def downgrade() -> None:
    op.drop_table("job_inputs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state_seq")
        batch_op.drop_index("ix_jobs_person_state")
    op.drop_table("jobs")
