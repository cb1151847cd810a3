"""Mast requests and decision records.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from pathlib import Path

from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = int(context.config.attributes.get("srid", 25832))
    sql = Path(__file__).with_name("0005_mast_request.sql").read_text().replace("{srid}", str(srid))
    op.get_bind().connection.driver_connection.execute(sql)


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute("DROP TABLE IF EXISTS registry.mast_request")
