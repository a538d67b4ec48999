"""platform: inspection model versions on trial beside a line machine's model

Revision ID: 0008_platform_trials
Revises: 0006_painted_masks
Create Date: 2026-12-02 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aion.core.db

revision: str = "0008_platform_trials"
down_revision: str | None = "0006_painted_masks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0004_line"


def upgrade() -> None:
    op.create_table(
        "platform_model_trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=255), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("created_at", aion.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", aion.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"],
            name=op.f("fk_platform_model_trials_company_id_companies"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["line_lines.id"],
            name=op.f("fk_platform_model_trials_line_id_line_lines"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["line_machines.id"],
            name=op.f("fk_platform_model_trials_machine_id_line_machines"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["platform_models.id"],
            name=op.f("fk_platform_model_trials_model_id_platform_models"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["platform_model_versions.id"],
            name=op.f("fk_platform_model_trials_version_id_platform_model_versions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_model_trials")),
        sa.UniqueConstraint("machine_id", name=op.f("uq_platform_model_trials_machine_id")),
    )  # fmt: skip
    with op.batch_alter_table("platform_model_trials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_platform_model_trials_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_platform_model_trials_line_id"), ["line_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_platform_model_trials_model_id"), ["model_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("platform_model_trials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_platform_model_trials_model_id"))
        batch_op.drop_index(batch_op.f("ix_platform_model_trials_line_id"))
        batch_op.drop_index(batch_op.f("ix_platform_model_trials_company_id"))
    op.drop_table("platform_model_trials")
