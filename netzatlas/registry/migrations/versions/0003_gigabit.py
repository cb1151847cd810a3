"""Gigabit classification snapshots and funding areas.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from pathlib import Path

from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = int(context.config.attributes.get("srid", 25832))
    sql = Path(__file__).with_name("0003_gigabit.sql").read_text().replace("{srid}", str(srid))
    op.get_bind().connection.driver_connection.execute(sql)


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(
        "DROP TABLE IF EXISTS registry.funding_area, registry.gigabit_classification, registry.gigabit_snapshot")
