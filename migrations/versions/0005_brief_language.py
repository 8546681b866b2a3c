"""brief language

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Briefs stored before the column existed were written in English; "en" is not hashed, so their drafts'
    # cache keys stay valid.
    with op.batch_alter_table("briefs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), server_default=sa.text("'en'"),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("briefs", schema=None) as batch_op:
        batch_op.drop_column("language")
