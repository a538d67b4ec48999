"""defect masks painted in the labeling page

Revision ID: 0006_painted_masks
Revises: 0005_platform_deploy
Create Date: 2026-12-01 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_painted_masks"
down_revision: str | None = "0005_platform_deploy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("platform_dataset_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mask_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("platform_labels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mask_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("platform_labels", schema=None) as batch_op:
        batch_op.drop_column("mask_sha256")
    with op.batch_alter_table("platform_dataset_items", schema=None) as batch_op:
        batch_op.drop_column("mask_sha256")
