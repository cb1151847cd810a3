-- Market exploration (MEV): what each import of an operator's answers found, kept per MEV and import batch, and
-- served as read-only, confidential collections (operators' answers are business secrets).
CREATE TABLE registry.mev_import (
  mev_id text NOT NULL, batch_id text NOT NULL, operator text NOT NULL, source text NOT NULL,
  file_name text NOT NULL, rows integer NOT NULL,
  matched_address_id integer NOT NULL DEFAULT 0, matched_street_number_postcode integer NOT NULL DEFAULT 0,
  matched_street_number integer NOT NULL DEFAULT 0, matched_range integer NOT NULL DEFAULT 0,
  matched_nearest integer NOT NULL DEFAULT 0, unmatched integer NOT NULL DEFAULT 0,
  ambiguous integer NOT NULL DEFAULT 0, conflicts integer NOT NULL DEFAULT 0,
  supply_available integer NOT NULL DEFAULT 0, supply_planned integer NOT NULL DEFAULT 0,
  supply_binding integer NOT NULL DEFAULT 0, vorvermarktung integer NOT NULL DEFAULT 0,
  created integer NOT NULL DEFAULT 0, updated integer NOT NULL DEFAULT 0, unchanged integer NOT NULL DEFAULT 0,
  withdrawn integer NOT NULL DEFAULT 0, read_notes text,
  created_at timestamptz NOT NULL DEFAULT now(), created_by text DEFAULT audit.actor(),
  geom geometry(MultiPolygon, {srid}),
  PRIMARY KEY (mev_id, batch_id, operator));
COMMENT ON TABLE registry.mev_import IS
  'one row per operator and import batch of a market exploration: rows, matches by rule, unmatched, conflicts';

CREATE TABLE registry.mev_report_row (
  mev_id text NOT NULL, batch_id text NOT NULL, operator text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('unmatched', 'conflict')), seq integer NOT NULL,
  row_no integer, reason text NOT NULL, detail text,
  address_id uuid, street text, house_number text, house_number_suffix text, postcode text, city text,
  technology text, down_mbps double precision, up_mbps double precision, planned_technology text,
  planned_down_mbps double precision, planned_up_mbps double precision, planned_date date, binding boolean,
  vorvermarktung text, geom geometry(Point, {srid}),
  PRIMARY KEY (mev_id, batch_id, operator, kind, seq),
  FOREIGN KEY (mev_id, batch_id, operator) REFERENCES registry.mev_import ON DELETE CASCADE);
CREATE INDEX mev_report_row_address_idx ON registry.mev_report_row (address_id);
COMMENT ON TABLE registry.mev_report_row IS
  'answer rows an MEV import could not apply (unmatched) or that conflict with the register or another answer';

CREATE VIEW registry.mev_summary_result AS
SELECT md5('mev/' || i.mev_id || '/' || i.batch_id || '/' || i.operator)::uuid AS id, 'mev'::text AS source,
       i.mev_id || '/' || i.operator || '/' || i.batch_id AS external_id, i.mev_id, i.batch_id, i.operator,
       i.file_name, i.rows, i.matched_address_id, i.matched_street_number_postcode, i.matched_street_number,
       i.matched_range, i.matched_nearest, i.unmatched, i.ambiguous, i.conflicts, i.supply_available,
       i.supply_planned, i.supply_binding, i.vorvermarktung, i.created, i.updated, i.unchanged, i.withdrawn,
       i.created_by, i.created_at,
       i.created_at = max(i.created_at) OVER (PARTITION BY i.mev_id, i.operator) AS latest,
       1 AS version, i.created_at AS updated_at, NULL::timestamptz AS deleted_at, i.geom
FROM registry.mev_import i;

CREATE VIEW registry.mev_unmatched_result AS
SELECT md5('mev/' || r.mev_id || '/' || r.batch_id || '/' || r.operator || '/u' || r.seq)::uuid AS id,
       'mev'::text AS source, r.mev_id || '/' || r.operator || '/' || r.batch_id || '/' || r.seq AS external_id,
       r.mev_id, r.batch_id, r.operator, r.row_no, r.reason, r.detail, r.street, r.house_number,
       r.house_number_suffix, r.postcode, r.city, r.technology, r.down_mbps, r.up_mbps, r.planned_technology,
       r.planned_down_mbps, r.planned_up_mbps, r.planned_date, r.binding, r.vorvermarktung,
       i.created_at = max(i.created_at) OVER (PARTITION BY i.mev_id, i.operator) AS latest,
       1 AS version, i.created_at AS updated_at, NULL::timestamptz AS deleted_at,
       r.geom::geometry(Point, {srid}) AS geom
FROM registry.mev_report_row r JOIN registry.mev_import i USING (mev_id, batch_id, operator)
WHERE r.kind = 'unmatched';

CREATE VIEW registry.mev_conflict_result AS
SELECT md5('mev/' || r.mev_id || '/' || r.batch_id || '/' || r.operator || '/c' || r.seq)::uuid AS id,
       'mev'::text AS source, r.mev_id || '/' || r.operator || '/' || r.batch_id || '/' || r.seq AS external_id,
       r.mev_id, r.batch_id, r.operator, r.row_no, r.reason, r.detail, r.address_id,
       coalesce(a.street, r.street) AS street, coalesce(a.house_number, r.house_number) AS house_number,
       coalesce(a.house_number_suffix, r.house_number_suffix) AS house_number_suffix,
       coalesce(a.postcode, r.postcode) AS postcode, r.technology, r.down_mbps, r.up_mbps, r.planned_technology,
       r.planned_down_mbps, r.planned_up_mbps, r.planned_date, r.binding, r.vorvermarktung,
       i.created_at = max(i.created_at) OVER (PARTITION BY i.mev_id, i.operator) AS latest,
       1 AS version, i.created_at AS updated_at, NULL::timestamptz AS deleted_at,
       coalesce(r.geom, a.geom)::geometry(Point, {srid}) AS geom
FROM registry.mev_report_row r JOIN registry.mev_import i USING (mev_id, batch_id, operator)
LEFT JOIN registry.fibre_address a ON a.id = r.address_id
WHERE r.kind = 'conflict';
