"""Mast requests as a collection; monument list and municipal property as importable layers.

- ``mast_request`` gets the shared layer columns (``source``, ``external_id``, ``owner_org``, ``name``,
  ``properties``) so the generic OGC API Part 4 writes, the history and the change feed treat it like any layer.
  Existing requests go under source ``cli`` (external id = their id) and the organization ``city``. The deadline is
  derived in the database (``received_on`` + ``coordination_weeks`` weeks), so no writer can get it wrong;
  ``received_on`` defaults to today, ``decided_on`` to the day an outcome (agreed / rejected) is recorded.
- ``monument`` (Denkmalliste; point or polygon): list number, address, protection type (Baudenkmal,
  Bodendenkmal, …), listing date. Public.
- ``municipal_property`` (city-owned parcels and buildings; polygons): use, owner department, whether antennas may
  go there. Confidential, like the candidate sites.
- ``registry.layer_policy``: ``mast_request`` confidential (operators' site plans are business secrets until a
  decision is published), ``monument`` public, ``municipal_property`` confidential.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import context, op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

UP = """
ALTER TABLE registry.mast_request
  ADD COLUMN source text NOT NULL DEFAULT 'manual',
  ADD COLUMN external_id text NOT NULL DEFAULT gen_random_uuid()::text,
  ADD COLUMN owner_org text REFERENCES registry.organization (slug),
  ADD COLUMN name text,
  ADD COLUMN properties jsonb NOT NULL DEFAULT '{}'::jsonb;
UPDATE registry.mast_request SET source = 'cli', external_id = id::text, owner_org = 'city';
ALTER TABLE registry.mast_request
  ADD CONSTRAINT mast_request_source_external_id_key UNIQUE (source, external_id),
  ALTER COLUMN received_on SET DEFAULT current_date,
  ALTER COLUMN deadline SET DEFAULT current_date + 56;
COMMENT ON COLUMN registry.mast_request.deadline IS
  'end of the coordination period: received_on + coordination_weeks weeks (set by the database)';
COMMENT ON COLUMN registry.mast_request.decided_on IS 'the day the outcome was recorded (agreed / rejected)';
CREATE FUNCTION registry.mast_request_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- refused as a check violation (a 4xx for API clients), before the date arithmetic could overflow
  IF NEW.coordination_weeks NOT BETWEEN 1 AND 104 THEN
    RAISE EXCEPTION 'coordination_weeks must be between 1 and 104, not %', NEW.coordination_weeks
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.received_on NOT BETWEEN DATE '1990-01-01' AND DATE '2200-01-01' THEN
    RAISE EXCEPTION 'received_on % is not a plausible date of receipt', NEW.received_on
      USING ERRCODE = 'check_violation';
  END IF;
  NEW.deadline := NEW.received_on + 7 * NEW.coordination_weeks;
  IF NEW.status IN ('agreed', 'rejected') AND NEW.decided_on IS NULL THEN
    NEW.decided_on := current_date;
  END IF;
  RETURN NEW;
END $$;
-- named so that it runs before t_bump_version (BEFORE triggers fire in name order)
CREATE TRIGGER t_a_mast_request_derived BEFORE INSERT OR UPDATE ON registry.mast_request
  FOR EACH ROW EXECUTE FUNCTION registry.mast_request_derived();
UPDATE registry.mast_request SET deadline = received_on + 7 * coordination_weeks
 WHERE deadline IS DISTINCT FROM received_on + 7 * coordination_weeks;
SELECT audit.track('registry.mast_request');
SELECT registry.use_value_references('registry.mast_request');

SELECT registry.create_layer('monument', 'Geometry', $c$
  list_number text, address text, protection_type text, listed_on date, municipality text,$c$, {srid});
COMMENT ON TABLE registry.monument IS
  'Denkmalliste: listed monuments (Baudenkmal, Bodendenkmal, bewegliches Denkmal), point or polygon';
COMMENT ON COLUMN registry.monument.list_number IS 'number in the municipal Denkmalliste';
COMMENT ON COLUMN registry.monument.protection_type IS 'Baudenkmal, Bodendenkmal, Denkmalbereich, …';

SELECT registry.create_layer('municipal_property', 'MultiPolygon', $c$
  use text, owner_department text, antennas_allowed boolean, parcel text,$c$, {srid});
COMMENT ON TABLE registry.municipal_property IS
  'city-owned parcels and buildings (Liegenschaften) and whether antennas may be placed there';
COMMENT ON COLUMN registry.municipal_property.antennas_allowed IS
  'true: offered for antennas; false: excluded; NULL: not decided (still city property)';

INSERT INTO registry.layer_policy (layer, public, confidential, note) VALUES
  ('mast_request', false, true,
   'operators'' site requests and the city''s decisions: business secrets until a decision is published'),
  ('monument', true, false, 'the Denkmalliste is public'),
  ('municipal_property', false, true, 'city-owned parcels and their availability for antennas: internal')
ON CONFLICT (layer) DO UPDATE SET public = EXCLUDED.public, confidential = EXCLUDED.confidential,
                                  note = EXCLUDED.note;
"""

DOWN = """
DELETE FROM registry.layer_policy WHERE layer IN ('mast_request', 'monument', 'municipal_property');
DELETE FROM registry.value_reference
 WHERE table_name IN ('registry.monument'::regclass, 'registry.municipal_property'::regclass,
                      'registry.mast_request'::regclass);
DROP TABLE registry.monument, registry.municipal_property;
DROP FUNCTION IF EXISTS audit.log_insert_registry_monument(), audit.log_update_registry_monument(),
  audit.log_delete_registry_monument(), audit.log_insert_registry_municipal_property(),
  audit.log_update_registry_municipal_property(), audit.log_delete_registry_municipal_property();
DROP TRIGGER IF EXISTS t_check_values_insert ON registry.mast_request;
DROP TRIGGER IF EXISTS t_check_values_update ON registry.mast_request;
DROP TRIGGER t_a_mast_request_derived ON registry.mast_request;
DROP FUNCTION registry.mast_request_derived();
ALTER TABLE registry.mast_request ALTER COLUMN received_on DROP DEFAULT, ALTER COLUMN deadline DROP DEFAULT;
ALTER TABLE registry.mast_request DROP CONSTRAINT mast_request_source_external_id_key,
  DROP COLUMN source, DROP COLUMN external_id, DROP COLUMN owner_org, DROP COLUMN name, DROP COLUMN properties;
COMMENT ON COLUMN registry.mast_request.deadline IS NULL;
COMMENT ON COLUMN registry.mast_request.decided_on IS NULL;
SELECT audit.track('registry.mast_request');
"""


def upgrade() -> None:
    srid = int(context.config.attributes.get("srid", 25832))
    op.get_bind().connection.driver_connection.execute(UP.replace("{srid}", str(srid)))


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(DOWN)
