"""Mobile sites as a radio planner keeps them: antenna heights above ground, the network kind, outdoor and indoor
holes, and the mast-request record from receipt to decision.

- ``mobile_site.antenna_height_m``: the antenna's height above ground (terrain) — what the coverage engine and the
  path-loss models use. ``height_m`` stays the structure's height as mapped (OSM ``height``); for a rooftop site
  ``building_height_m`` + ``mast_height_m`` (the mast on the roof) give the antenna height when it is not set.
- ``mobile_site.network``: ``public`` (a public mobile network), ``gsm-r`` (railway), ``bos`` (public-safety radio)
  or ``other``; NULL means "derive it from the operator and the OSM tags" (``mobile_sites.sites.network_kind``).
  Only public sites count for public coverage.
- ``mobile_sector.height_m`` is documented as the antenna height above ground.
- ``coverage_hole.coverage``: ``outdoor`` (1.5 m above ground, cells outside buildings) or ``indoor`` (per building,
  with the TR 38.901 building-entry loss); ``assumptions``: what the run assumed (terrain, defaulted parameters).
- ``mast_request``: the coordination period in weeks (default 8, the Mobilfunkvereinbarung's "Acht-Wochen-Frist"),
  the planned site type, the name of the ring's area, the decision record (the city's proposed alternatives, the
  operator's answer, the outcome, when decided).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UP = """
ALTER TABLE registry.mobile_site
  ADD COLUMN antenna_height_m double precision CHECK (antenna_height_m IS NULL OR antenna_height_m >= 0),
  ADD COLUMN building_height_m double precision CHECK (building_height_m IS NULL OR building_height_m >= 0),
  ADD COLUMN mast_height_m double precision CHECK (mast_height_m IS NULL OR mast_height_m >= 0),
  ADD COLUMN network text CHECK (network IS NULL OR network IN ('public', 'gsm-r', 'bos', 'other'));
COMMENT ON COLUMN registry.mobile_site.height_m IS 'height of the structure as mapped (OSM height), not the antenna';
COMMENT ON COLUMN registry.mobile_site.antenna_height_m IS 'antenna height above ground (terrain), m';
COMMENT ON COLUMN registry.mobile_site.building_height_m IS 'rooftop site: height of the building carrying it, m';
COMMENT ON COLUMN registry.mobile_site.mast_height_m IS 'rooftop site: height of the mast on the roof, m';
COMMENT ON COLUMN registry.mobile_site.network IS
  'public / gsm-r / bos / other; NULL = derived from operator and tags; only public sites count for coverage';
COMMENT ON COLUMN registry.mobile_sector.height_m IS 'antenna height above ground (terrain), m';
SELECT audit.track('registry.mobile_site');

ALTER TABLE registry.coverage_hole
  ADD COLUMN coverage text NOT NULL DEFAULT 'outdoor' CHECK (coverage IN ('outdoor', 'indoor')),
  ADD COLUMN assumptions text;
ALTER TABLE registry.coverage_hole DROP CONSTRAINT coverage_hole_pkey;
ALTER TABLE registry.coverage_hole ADD PRIMARY KEY (run_id, operator, technology, coverage, hole);
CREATE OR REPLACE VIEW registry.coverage_hole_result AS
SELECT md5(run_id || '/' || operator || '/' || technology || '/' || coverage || '/' || hole)::uuid AS id,
       'mobile'::text AS source,
       run_id || '/' || operator || '/' || technology || '/' || coverage || '/' || hole AS external_id, run_id,
       operator, technology, hole, threshold_dbm, people, addresses, area_ha, 1 AS version, created_at AS updated_at,
       NULL::timestamptz AS deleted_at, geom, created_at, created_by, coverage, assumptions
FROM registry.coverage_hole;

ALTER TABLE registry.mast_request
  ADD COLUMN coordination_weeks integer NOT NULL DEFAULT 8 CHECK (coordination_weeks > 0),
  ADD COLUMN site_type text,
  ADD COLUMN alternatives jsonb NOT NULL DEFAULT '[]'::jsonb,
  ADD COLUMN operator_answer text,
  ADD COLUMN outcome text,
  ADD COLUMN decided_on date;
COMMENT ON COLUMN registry.mast_request.coordination_weeks IS
  'coordination period (Mobilfunkvereinbarung: Stellungnahme and Erörterung within 8 weeks), weeks';
COMMENT ON COLUMN registry.mast_request.alternatives IS 'sites the city proposes instead (name, address, x, y, why)';
SELECT audit.track('registry.mast_request');
"""

DOWN = """
ALTER TABLE registry.mast_request DROP COLUMN coordination_weeks, DROP COLUMN site_type, DROP COLUMN alternatives,
  DROP COLUMN operator_answer, DROP COLUMN outcome, DROP COLUMN decided_on;
SELECT audit.track('registry.mast_request');
DROP VIEW registry.coverage_hole_result;
DELETE FROM registry.coverage_hole WHERE coverage <> 'outdoor';
ALTER TABLE registry.coverage_hole DROP CONSTRAINT coverage_hole_pkey;
ALTER TABLE registry.coverage_hole ADD PRIMARY KEY (run_id, operator, technology, hole);
ALTER TABLE registry.coverage_hole DROP COLUMN coverage, DROP COLUMN assumptions;
CREATE VIEW registry.coverage_hole_result AS
SELECT md5(run_id || '/' || operator || '/' || technology || '/' || hole)::uuid AS id, 'mobile'::text AS source,
       run_id || '/' || operator || '/' || technology || '/' || hole AS external_id, run_id, operator, technology,
       hole, threshold_dbm, people, addresses, area_ha, 1 AS version, created_at AS updated_at,
       NULL::timestamptz AS deleted_at, geom, created_at, created_by
FROM registry.coverage_hole;
ALTER TABLE registry.mobile_site DROP COLUMN antenna_height_m, DROP COLUMN building_height_m,
  DROP COLUMN mast_height_m, DROP COLUMN network;
SELECT audit.track('registry.mobile_site');
"""


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute(UP)


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(DOWN)
