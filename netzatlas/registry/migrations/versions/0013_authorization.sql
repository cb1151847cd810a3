-- Authorization: confidential layers, keys that expire, sources owned by organizations, and results with
-- provenance and history (docs/security.md).

-- confidential layers are never served to anonymous callers nor to keys without read:confidential
ALTER TABLE registry.layer_policy ADD COLUMN confidential boolean NOT NULL DEFAULT false;
INSERT INTO registry.layer_policy (layer, public, confidential, note) VALUES
  ('gigabit_result', false, true, 'per-address classification from operators'' market-exploration answers'),
  ('candidate_site', false, true, 'city-owned candidate properties: internal until a decision is published')
ON CONFLICT (layer) DO UPDATE SET public = EXCLUDED.public, confidential = EXCLUDED.confidential,
                                  note = EXCLUDED.note;

-- keys can carry an expiry
ALTER TABLE registry.api_key ADD COLUMN expires_at timestamptz;

-- a source string belongs to the organization that first wrote it (or that it is registered to)
CREATE TABLE registry.source_owner (
  source text PRIMARY KEY,
  org text NOT NULL REFERENCES registry.organization (slug),
  registered_at timestamptz NOT NULL DEFAULT now(),
  registered_by text DEFAULT audit.actor());

DO $$
DECLARE t regclass;
BEGIN
  -- today's data: each source goes to the organization owning most of its features
  CREATE TEMP TABLE _src (source text, org text, n bigint) ON COMMIT DROP;
  FOR t IN SELECT DISTINCT c.oid::regclass FROM pg_class c JOIN pg_attribute a1 ON a1.attrelid = c.oid
                 AND a1.attname = 'source' JOIN pg_attribute a2 ON a2.attrelid = c.oid AND a2.attname = 'owner_org'
            WHERE c.relnamespace = 'registry'::regnamespace AND c.relkind = 'r' LOOP
    EXECUTE format('INSERT INTO _src SELECT source, owner_org, count(*) FROM %s '
                   'WHERE source IS NOT NULL AND owner_org IS NOT NULL GROUP BY 1, 2', t);
  END LOOP;
  INSERT INTO registry.source_owner (source, org, registered_by)
  SELECT DISTINCT ON (source) source, org, 'migration 0013' FROM (
    SELECT source, org, sum(n) AS n FROM _src GROUP BY 1, 2) s
  ORDER BY source, n DESC, org
  ON CONFLICT DO NOTHING;
END $$;

-- analysis results: who made them and when
ALTER TABLE registry.gigabit_snapshot ADD COLUMN created_by text DEFAULT audit.actor();
ALTER TABLE registry.funding_area ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
                                  ADD COLUMN created_by text DEFAULT audit.actor();
ALTER TABLE registry.coverage_hole ADD COLUMN created_by text DEFAULT audit.actor();

-- one row per result set (a gigabit snapshot, a snapshot's funding areas, a coverage run's holes) with a summary;
-- tracked like every asset, so each replacement and deletion is in audit.change with the state before it
CREATE TABLE registry.result_run (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('gigabit_snapshot', 'funding_areas', 'coverage_holes')),
  key text NOT NULL,
  summary jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text DEFAULT audit.actor(),
  version integer NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text DEFAULT audit.actor(),
  deleted_at timestamptz,
  UNIQUE (kind, key));
SELECT audit.track('registry.result_run');
INSERT INTO registry.result_run (kind, key, summary, created_at, created_by)
SELECT 'gigabit_snapshot', s.id, jsonb_build_object('programme', s.programme, 'reference_date', s.reference_date,
       'title', s.title, 'simulated', s.simulated, 'note', s.note,
       'classes', (SELECT coalesce(jsonb_object_agg(class_de, n), '{}'::jsonb) FROM (
                     SELECT class_de, count(*) AS n FROM registry.gigabit_classification c
                     WHERE c.snapshot_id = s.id GROUP BY 1) k)),
       s.created_at, 'migration 0013'
FROM registry.gigabit_snapshot s;

-- the result collections say who made them (columns added at the end, so the views keep their shape)
CREATE OR REPLACE VIEW registry.gigabit_result AS
SELECT md5(c.snapshot_id || '/' || c.address_id::text)::uuid AS id, 'gigabit'::text AS source,
       a.external_id, c.snapshot_id, s.programme, s.reference_date, s.simulated,
       a.street, a.house_number, a.house_number_suffix, a.postcode,
       c.best_down_mbps, c.best_up_mbps, c.best_technology, c.nga_networks, c.planned_down_mbps, c.planned_up_mbps,
       c.planned_date, c.binding_plan, c.class_de, c.class_en, c.eligible, c.reason,
       1 AS version, s.created_at AS updated_at, NULL::timestamptz AS deleted_at, a.geom,
       s.created_at, s.created_by
FROM registry.gigabit_classification c
JOIN registry.gigabit_snapshot s ON s.id = c.snapshot_id
JOIN registry.fibre_address a ON a.id = c.address_id;

CREATE OR REPLACE VIEW registry.funding_area_result AS
SELECT md5(f.snapshot_id || '/' || f.area_no::text)::uuid AS id, 'gigabit'::text AS source,
       f.snapshot_id || '/' || f.area_no AS external_id, f.snapshot_id, f.area_no, f.rank, f.addresses, f.dwellings,
       f.businesses, f.schools, f.hospitals, f.trench_m, f.cost_eur, f.cost_per_connection_eur, s.simulated,
       1 AS version, f.created_at AS updated_at, NULL::timestamptz AS deleted_at, f.geom,
       f.created_at, f.created_by
FROM registry.funding_area f JOIN registry.gigabit_snapshot s ON s.id = f.snapshot_id;

CREATE OR REPLACE VIEW registry.coverage_hole_result AS
SELECT md5(run_id || '/' || operator || '/' || technology || '/' || hole)::uuid AS id, 'mobile'::text AS source,
       run_id || '/' || operator || '/' || technology || '/' || hole AS external_id, run_id, operator, technology,
       hole, threshold_dbm, people, addresses, area_ha, 1 AS version, created_at AS updated_at,
       NULL::timestamptz AS deleted_at, geom, created_at, created_by
FROM registry.coverage_hole;
