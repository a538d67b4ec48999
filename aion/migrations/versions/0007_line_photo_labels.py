"""line: operators' OK/NG verdicts on the inspection station's photos

Revision ID: 0007_line_photo_labels
Revises: 0004_line
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aion.core.db

revision: str = "0007_line_photo_labels"
down_revision: str | None = "0004_line"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002_platform"


def upgrade() -> None:
    op.create_table(
        "line_photo_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=130), nullable=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.String(length=1000), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=8), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("labelled_at", aion.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dataset_version_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"],
            name=op.f("fk_line_photo_labels_company_id_companies"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_version_id"], ["platform_dataset_versions.id"],
            name=op.f("fk_line_photo_labels_dataset_version_id_platform_dataset_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["line_lines.id"],
            name=op.f("fk_line_photo_labels_line_id_line_lines"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_photo_labels")),
        sa.UniqueConstraint("line_id", "tag", "ts_us", "seq", name=op.f("uq_line_photo_labels_line_id")),
    )  # fmt: skip
    with op.batch_alter_table("line_photo_labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_line_photo_labels_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_line_photo_labels_line_id"), ["line_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("line_photo_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_line_photo_labels_line_id"))
        batch_op.drop_index(batch_op.f("ix_line_photo_labels_company_id"))
    op.drop_table("line_photo_labels")
