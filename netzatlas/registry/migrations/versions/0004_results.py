"""Analysis results as read-only collections (views).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute(Path(__file__).with_name("0004_results.sql").read_text())


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(
        "DROP VIEW IF EXISTS registry.gigabit_result, registry.funding_area_result")
