"""Authorization: confidential layers, key expiry, organization-owned sources, result provenance and history.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute(Path(__file__).with_name("0013_authorization.sql").read_text())


def downgrade() -> None:
    here = Path(__file__).parent
    holes = (here / "0006_coverage_holes.sql").read_text()
    views = ("DROP VIEW IF EXISTS registry.gigabit_result, registry.funding_area_result, "
             "registry.coverage_hole_result;\n" + (here / "0004_results.sql").read_text() + "\n"
             + holes[holes.index("CREATE VIEW registry.coverage_hole_result"):])
    op.get_bind().connection.driver_connection.execute(views)
    op.get_bind().connection.driver_connection.execute("""
        DROP TABLE IF EXISTS registry.result_run;
        DROP FUNCTION IF EXISTS audit.log_insert_registry_result_run(), audit.log_update_registry_result_run(),
                                audit.log_delete_registry_result_run();
        SELECT audit.track('registry.mast_request');  -- rebuilds audit.current_image without result_run
        DROP FUNCTION IF EXISTS audit.current_registry_result_run(uuid);
        ALTER TABLE registry.coverage_hole DROP COLUMN IF EXISTS created_by;
        ALTER TABLE registry.funding_area DROP COLUMN IF EXISTS created_by, DROP COLUMN IF EXISTS created_at;
        ALTER TABLE registry.gigabit_snapshot DROP COLUMN IF EXISTS created_by;
        DROP TABLE IF EXISTS registry.source_owner;
        ALTER TABLE registry.api_key DROP COLUMN IF EXISTS expires_at;
        DELETE FROM registry.layer_policy WHERE layer = 'gigabit_result';
        ALTER TABLE registry.layer_policy DROP COLUMN IF EXISTS confidential;
    """)
