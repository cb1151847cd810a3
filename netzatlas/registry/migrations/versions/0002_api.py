"""API: keys and scopes, idempotency records, layer policy and sensitive properties.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql = Path(__file__).with_name("0002_api.sql").read_text()
    op.get_bind().connection.driver_connection.execute(sql)


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(
        "DROP TABLE IF EXISTS registry.api_key, registry.idempotency, registry.layer_policy, "
        "registry.sensitive_property; DELETE FROM registry.organization WHERE slug IN ('stawag', 'regionetz');"
    )
