"""Mobile coverage holes as a read-only result collection.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from pathlib import Path

from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = int(context.config.attributes.get("srid", 25832))
    sql = Path(__file__).with_name("0006_coverage_holes.sql").read_text().replace("{srid}", str(srid))
    op.get_bind().connection.driver_connection.execute(sql)


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(
        "DROP VIEW IF EXISTS registry.coverage_hole_result; DROP TABLE IF EXISTS registry.coverage_hole")
