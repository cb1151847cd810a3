"""Chargers in OCPI 2.2.1's shape: Location (= the ``charging_point`` station row) → EVSE → Connector.

- ``charging_point`` stays the station layer and is the OCPI Location (1:1, no copy): it gains the Location
  fields it lacked (country code, party id, OCPI id, country, parking type, time zone, opening times, publish,
  facilities, the rest of the object in ``ocpi_details``). Existing rows keep their ids, versions and history; the
  history trigger functions are regenerated (``audit.track``) for the new columns.
- ``charging_evse`` and ``charging_connector``: layers of their own (``registry.create_layer``: versions,
  history, owner organization, value references), a point each (the EVSE's coordinates, else its location's).
- Value lists for the OCPI enums: ``vl_evse_status``, ``vl_connector_standard``, ``vl_connector_format``,
  ``vl_power_type``, ``vl_parking_type``.
- Dynamic status (AVAILABLE, CHARGING, …) is NOT an asset version: ``registry.evse_status`` (current status per
  EVSE, untracked) and ``registry.evse_status_log`` (bounded: ``registry.prune_evse_status_log(keep)`` deletes all
  but the newest ``keep`` entries per EVSE in one statement).
- OCPI parties and credentials: ``registry.ocpi_party`` (organization, country code, party id, the hashes of its
  registration token A and of its token C; tokens are never stored in clear).
- Public read: ``charging_evse`` and ``charging_connector`` in ``registry.layer_policy`` as public.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import context, op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE registry.vl_evse_status (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL);
INSERT INTO registry.vl_evse_status VALUES
  ('AVAILABLE', 'frei', 'available'), ('BLOCKED', 'zugeparkt / blockiert', 'blocked'),
  ('CHARGING', 'lädt', 'charging'), ('INOPERATIVE', 'vorübergehend außer Betrieb', 'inoperative'),
  ('OUTOFORDER', 'defekt', 'out of order'), ('PLANNED', 'geplant', 'planned'),
  ('REMOVED', 'abgebaut', 'removed'), ('RESERVED', 'reserviert', 'reserved'), ('UNKNOWN', 'unbekannt', 'unknown');

CREATE TABLE registry.vl_connector_standard (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL);
INSERT INTO registry.vl_connector_standard
SELECT c, c, c FROM unnest(ARRAY[
  'CHADEMO', 'CHAOJI', 'DOMESTIC_A', 'DOMESTIC_B', 'DOMESTIC_C', 'DOMESTIC_D', 'DOMESTIC_E', 'DOMESTIC_F',
  'DOMESTIC_G', 'DOMESTIC_H', 'DOMESTIC_I', 'DOMESTIC_J', 'DOMESTIC_K', 'DOMESTIC_L', 'DOMESTIC_M', 'DOMESTIC_N',
  'DOMESTIC_O', 'GBT_AC', 'GBT_DC', 'IEC_60309_2_single_16', 'IEC_60309_2_three_16', 'IEC_60309_2_three_32',
  'IEC_60309_2_three_64', 'IEC_62196_T1', 'IEC_62196_T1_COMBO', 'IEC_62196_T2', 'IEC_62196_T2_COMBO',
  'IEC_62196_T3A', 'IEC_62196_T3C', 'NEMA_5_20', 'NEMA_6_30', 'NEMA_6_50', 'NEMA_10_30', 'NEMA_10_50',
  'NEMA_14_30', 'NEMA_14_50', 'PANTOGRAPH_BOTTOM_UP', 'PANTOGRAPH_TOP_DOWN', 'TESLA_R', 'TESLA_S']) c;
UPDATE registry.vl_connector_standard SET label_de = v.de, label_en = v.en
  FROM (VALUES ('IEC_62196_T2', 'Typ 2', 'Type 2'), ('IEC_62196_T2_COMBO', 'CCS (Combo 2)', 'CCS (Combo 2)'),
               ('CHADEMO', 'CHAdeMO', 'CHAdeMO'), ('DOMESTIC_F', 'Schuko', 'Schuko (CEE 7/4)'),
               ('IEC_62196_T1', 'Typ 1', 'Type 1'), ('IEC_62196_T1_COMBO', 'CCS (Combo 1)', 'CCS (Combo 1)'),
               ('TESLA_S', 'Tesla (Model S/X)', 'Tesla (Model S/X)')) v(code, de, en)
 WHERE vl_connector_standard.code = v.code;

CREATE TABLE registry.vl_connector_format (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL);
INSERT INTO registry.vl_connector_format VALUES
  ('SOCKET', 'Steckdose', 'socket'), ('CABLE', 'festes Kabel', 'attached cable');

CREATE TABLE registry.vl_power_type (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL);
INSERT INTO registry.vl_power_type VALUES
  ('AC_1_PHASE', 'Wechselstrom einphasig', 'AC single phase'),
  ('AC_2_PHASE', 'Wechselstrom zweiphasig', 'AC two phases'),
  ('AC_2_PHASE_SPLIT', 'Wechselstrom zweiphasig (split)', 'AC two phases, split'),
  ('AC_3_PHASE', 'Drehstrom', 'AC three phases'), ('DC', 'Gleichstrom', 'DC');

CREATE TABLE registry.vl_parking_type (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL);
INSERT INTO registry.vl_parking_type VALUES
  ('ALONG_MOTORWAY', 'an der Autobahn', 'along a motorway'), ('PARKING_GARAGE', 'Parkhaus', 'parking garage'),
  ('PARKING_LOT', 'Parkplatz', 'parking lot'), ('ON_DRIVEWAY', 'Einfahrt', 'on a driveway'),
  ('ON_STREET', 'Straßenrand', 'on street'), ('UNDERGROUND_GARAGE', 'Tiefgarage', 'underground garage');

-- the station row is the OCPI Location
ALTER TABLE registry.charging_point
  ADD COLUMN ocpi_country_code text CHECK (ocpi_country_code ~ '^[A-Z]{2}$'),
  ADD COLUMN ocpi_party_id text CHECK (ocpi_party_id ~ '^[A-Z0-9]{3}$'),
  ADD COLUMN ocpi_id text CHECK (length(ocpi_id) BETWEEN 1 AND 36),
  ADD COLUMN country text CHECK (country ~ '^[A-Z]{3}$'),
  ADD COLUMN publish boolean NOT NULL DEFAULT true,
  ADD COLUMN parking_type text REFERENCES registry.vl_parking_type (code),
  ADD COLUMN time_zone text,
  ADD COLUMN opening_times jsonb,
  ADD COLUMN charging_when_closed boolean,
  ADD COLUMN facilities text[] NOT NULL DEFAULT '{}',
  ADD COLUMN ocpi_details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN ocpi_last_updated timestamptz;
COMMENT ON COLUMN registry.charging_point.ocpi_details IS
  'the rest of the OCPI Location object (operator/owner details, directions, images, energy mix, …)';
CREATE INDEX charging_point_ocpi_idx ON registry.charging_point (ocpi_country_code, ocpi_party_id, ocpi_id)
  WHERE ocpi_id IS NOT NULL;
SELECT audit.track('registry.charging_point');
SELECT registry.use_value_references('registry.charging_point');

SELECT registry.create_layer('charging_evse', 'Point', $c$
  location uuid NOT NULL REFERENCES registry.charging_point (id) ON DELETE CASCADE,
  uid text NOT NULL CHECK (length(uid) BETWEEN 1 AND 36),
  evse_id text CHECK (evse_id ~* '^[A-Z]{2}\\*?[A-Z0-9]{3}\\*?E[A-Z0-9*]{1,30}$'),
  capabilities text[] NOT NULL DEFAULT '{}',
  floor_level text CHECK (length(floor_level) <= 4),
  physical_reference text CHECK (length(physical_reference) <= 16),
  parking_restrictions text[] NOT NULL DEFAULT '{}',
  own_coordinates boolean NOT NULL DEFAULT false,
  ocpi_details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ocpi_last_updated timestamptz,$c$, {srid});
ALTER TABLE registry.charging_evse ADD CONSTRAINT charging_evse_location_uid_key UNIQUE (location, uid);
COMMENT ON TABLE registry.charging_evse IS
  'EVSEs (OCPI 2.2.1): one charging point (Ladepunkt) of a location (charging_point); its live status is in '
  'registry.evse_status, not here';
COMMENT ON COLUMN registry.charging_evse.evse_id IS 'eMI3 EVSE ID, e.g. DE*ABC*E123456';

SELECT registry.create_layer('charging_connector', 'Point', $c$
  evse uuid NOT NULL REFERENCES registry.charging_evse (id) ON DELETE CASCADE,
  connector_id text NOT NULL CHECK (length(connector_id) BETWEEN 1 AND 36),
  standard text REFERENCES registry.vl_connector_standard (code),
  format text REFERENCES registry.vl_connector_format (code),
  power_type text REFERENCES registry.vl_power_type (code),
  max_voltage integer CHECK (max_voltage >= 0),
  max_amperage integer CHECK (max_amperage >= 0),
  max_electric_power integer CHECK (max_electric_power >= 0),
  tariff_ids text[] NOT NULL DEFAULT '{}',
  terms_and_conditions text,
  ocpi_details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ocpi_last_updated timestamptz,$c$, {srid});
ALTER TABLE registry.charging_connector
  ADD CONSTRAINT charging_connector_evse_connector_key UNIQUE (evse, connector_id);
COMMENT ON TABLE registry.charging_connector IS 'connectors (OCPI 2.2.1) of an EVSE (charging_evse)';
COMMENT ON COLUMN registry.charging_connector.max_electric_power IS 'W';

-- dynamic status: current value per EVSE and a bounded log; untracked (no asset versions)
CREATE TABLE registry.evse_status (
  evse uuid PRIMARY KEY REFERENCES registry.charging_evse (id) ON DELETE CASCADE,
  status text NOT NULL REFERENCES registry.vl_evse_status (code),
  status_at timestamptz NOT NULL,               -- the sender's last_updated
  received_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE registry.evse_status_log (
  id bigserial PRIMARY KEY,
  evse uuid NOT NULL REFERENCES registry.charging_evse (id) ON DELETE CASCADE,
  status text NOT NULL,
  status_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  org text);
CREATE INDEX evse_status_log_evse_idx ON registry.evse_status_log (evse, id DESC);
CREATE FUNCTION registry.prune_evse_status_log(keep integer, evses uuid[] DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM registry.evse_status_log l USING (
      SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY evse ORDER BY id DESC) AS n
                        FROM registry.evse_status_log WHERE evses IS NULL OR evse = ANY (evses)) r
       WHERE n > keep) old
    WHERE l.id = old.id RETURNING 1)
  SELECT count(*) FROM gone
$$;

-- OCPI parties: who may push which locations (credentials handshake, tokens hashed)
CREATE TABLE registry.ocpi_party (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org text NOT NULL REFERENCES registry.organization (slug),
  country_code text NOT NULL CHECK (country_code ~ '^[A-Z]{2}$'),
  party_id text NOT NULL CHECK (party_id ~ '^[A-Z0-9]{3}$'),
  token_a_hash text UNIQUE,                   -- registration token (A), until the handshake used it
  token_c_hash text UNIQUE,                   -- the token the party calls us with after the handshake (C)
  versions_url text,                          -- the party's versions endpoint (from its credentials)
  business_name text,
  roles jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  registered_at timestamptz,
  revoked_at timestamptz,
  UNIQUE (country_code, party_id));
COMMENT ON TABLE registry.ocpi_party IS
  'OCPI 2.2.1 parties (CPOs) and their credentials: sha256 hashes of token A and token C, never the tokens';

INSERT INTO registry.layer_policy (layer, public, confidential, note) VALUES
  ('charging_evse', true, false, 'EVSEs of public chargers (OCPI)'),
  ('charging_connector', true, false, 'connectors of public chargers (OCPI)')
ON CONFLICT (layer) DO UPDATE SET public = EXCLUDED.public, confidential = EXCLUDED.confidential,
                                  note = EXCLUDED.note;
"""

DOWN = """
DELETE FROM registry.layer_policy WHERE layer IN ('charging_evse', 'charging_connector');
DROP TABLE registry.ocpi_party;
DROP FUNCTION registry.prune_evse_status_log(integer, uuid[]);
DROP TABLE registry.evse_status_log, registry.evse_status;
DELETE FROM registry.value_reference
 WHERE table_name IN ('registry.charging_connector'::regclass, 'registry.charging_evse'::regclass)
    OR (table_name = 'registry.charging_point'::regclass AND column_name = 'parking_type');
DROP TABLE registry.charging_connector, registry.charging_evse;
DROP FUNCTION IF EXISTS audit.log_insert_registry_charging_evse(), audit.log_update_registry_charging_evse(),
  audit.log_delete_registry_charging_evse(), audit.log_insert_registry_charging_connector(),
  audit.log_update_registry_charging_connector(), audit.log_delete_registry_charging_connector();
-- the history keeps the OCPI fields in its images; the station rows lose them (columns of this revision)
ALTER TABLE registry.charging_point
  DROP COLUMN ocpi_country_code, DROP COLUMN ocpi_party_id, DROP COLUMN ocpi_id, DROP COLUMN country,
  DROP COLUMN publish, DROP COLUMN parking_type, DROP COLUMN time_zone, DROP COLUMN opening_times,
  DROP COLUMN charging_when_closed, DROP COLUMN facilities, DROP COLUMN ocpi_details, DROP COLUMN ocpi_last_updated;
SELECT audit.track('registry.charging_point');
DROP TABLE registry.vl_evse_status, registry.vl_connector_standard, registry.vl_connector_format,
  registry.vl_power_type, registry.vl_parking_type;
"""


def upgrade() -> None:
    srid = int(context.config.attributes.get("srid", 25832))
    op.get_bind().connection.driver_connection.execute(UP.replace("{srid}", str(srid)))


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(DOWN)
