"""The registry: asset and reference layers, value lists, organizations, change table and triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from pathlib import Path

from alembic import context, op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = int(context.config.attributes.get("srid", 25832))
    sql = (Path(__file__).with_name("0001_registry.sql")).read_text().replace("{srid}", str(srid))
    # the raw driver connection: no bind-parameter parsing of the SQL text
    op.get_bind().connection.driver_connection.execute(sql)


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS registry CASCADE; DROP SCHEMA IF EXISTS audit CASCADE;")
