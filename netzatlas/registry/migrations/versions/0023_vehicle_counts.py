"""Vehicle counts: registered battery-electric and plug-in hybrid cars per municipality or registration district
and reference date (KBA FZ1 / FZ3 tables), the input of the AFIR fleet-based target (1.3 kW per BEV, 0.8 kW per
PHEV of publicly accessible charging power).

One row per region and Stichtag, keyed like every import by (source, external_id = "<region key>/<Stichtag>"), so
a re-import of the same table changes nothing and a corrected count is an update with history (``audit.track``).
The table is no API collection (it has no geometry); the AFIR check joins it to the ``municipality`` layer by the
AGS (the first five and last three digits of the ARS).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE registry.vehicle_count (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  source text NOT NULL,
  external_id text NOT NULL,
  owner_org text REFERENCES registry.organization (slug),
  region_key text NOT NULL CHECK (region_key ~ '^[0-9]{2,12}$'),
  region_level text NOT NULL CHECK (region_level IN ('gemeinde', 'zulassungsbezirk', 'kreis', 'land')),
  name text,
  stichtag date NOT NULL,
  cars_total integer CHECK (cars_total IS NULL OR cars_total >= 0),
  bev integer NOT NULL CHECK (bev >= 0),
  phev integer NOT NULL CHECK (phev >= 0),
  properties jsonb NOT NULL DEFAULT '{}'::jsonb,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text DEFAULT audit.actor(), deleted_at timestamptz,
  CONSTRAINT vehicle_count_source_external_id_key UNIQUE (source, external_id),
  CONSTRAINT vehicle_count_region_date_key UNIQUE (source, region_key, stichtag));
CREATE INDEX vehicle_count_region_idx ON registry.vehicle_count (region_key, stichtag DESC);
COMMENT ON TABLE registry.vehicle_count IS
  'registered cars per region and Stichtag (KBA FZ1/FZ3): BEV and PHEV counts, the input of the AFIR fleet target';
SELECT audit.track('registry.vehicle_count');
"""

DOWNGRADE = """
DROP TABLE IF EXISTS registry.vehicle_count;
DROP FUNCTION IF EXISTS audit.log_insert_registry_vehicle_count(), audit.log_update_registry_vehicle_count(),
                        audit.log_delete_registry_vehicle_count();
SELECT audit.track('registry.mast_request');  -- rebuilds audit.current_image without vehicle_count
DROP FUNCTION IF EXISTS audit.current_registry_vehicle_count(uuid);
"""


def upgrade() -> None:
    """Create registry.vehicle_count (tracked: versions and history)."""
    op.get_bind().connection.driver_connection.execute(UPGRADE)


def downgrade() -> None:
    """Drop registry.vehicle_count with its history triggers and functions (its history rows stay in audit.change)."""
    op.get_bind().connection.driver_connection.execute(DOWNGRADE)
