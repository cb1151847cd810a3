-- netzatlas registry, first schema. {srid} is the storage CRS chosen at install (default 25832).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE SCHEMA registry;   -- assets, reference layers, value lists, organizations
CREATE SCHEMA audit;      -- the change table (history, change feed) and import batches

-- ---------------------------------------------------------------- value lists
CREATE TABLE registry.vl_status (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL, sort int);
INSERT INTO registry.vl_status VALUES
  ('planned', 'geplant', 'planned', 1), ('under_construction', 'im Bau', 'under construction', 2),
  ('active', 'in Betrieb', 'active', 3), ('out_of_service', 'außer Betrieb', 'out of service', 4),
  ('decommissioned', 'zurückgebaut', 'decommissioned', 5);

CREATE TABLE registry.vl_technology (
  code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL, medium text NOT NULL);
INSERT INTO registry.vl_technology VALUES
  ('ftth', 'Glasfaser bis in die Wohnung (FTTH)', 'fibre to the home', 'fibre'),
  ('fttb', 'Glasfaser bis ins Gebäude (FTTB)', 'fibre to the building', 'fibre'),
  ('fttc_vdsl', 'VDSL / Vectoring (FTTC)', 'VDSL / vectoring (FTTC)', 'copper'),
  ('supervectoring', 'Super-Vectoring (FTTC)', 'super vectoring (FTTC)', 'copper'),
  ('adsl', 'ADSL', 'ADSL', 'copper'),
  ('docsis30', 'Kabel DOCSIS 3.0', 'cable DOCSIS 3.0', 'coax'),
  ('docsis31', 'Kabel DOCSIS 3.1', 'cable DOCSIS 3.1', 'coax'),
  ('fwa', 'Funk (Fixed Wireless Access)', 'fixed wireless access', 'radio'),
  ('lte', 'Mobilfunk LTE', 'mobile LTE', 'radio'),
  ('5g', 'Mobilfunk 5G', 'mobile 5G', 'radio'),
  ('satellite', 'Satellit', 'satellite', 'radio'),
  ('other', 'andere', 'other', 'other');

CREATE TABLE registry.vl_supply_status (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL);
INSERT INTO registry.vl_supply_status VALUES
  ('available', 'verfügbar', 'available'), ('planned', 'geplant', 'planned');

CREATE TABLE registry.vl_poi_category (
  code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL, sensitive_facility boolean NOT NULL DEFAULT false);
INSERT INTO registry.vl_poi_category VALUES
  ('park', 'Park', 'park', false), ('square', 'Platz', 'square', false),
  ('playground', 'Spielplatz', 'playground', true), ('bus_stop', 'Bushaltestelle', 'bus stop', false),
  ('tram_stop', 'Straßenbahnhaltestelle', 'tram stop', false), ('railway_station', 'Bahnhof', 'railway station', false),
  ('university', 'Hochschule', 'university', false), ('college', 'Fachhochschule / Kolleg', 'college', false),
  ('school', 'Schule', 'school', true), ('kindergarten', 'Kindertagesstätte', 'kindergarten', true),
  ('hospital', 'Krankenhaus', 'hospital', true), ('library', 'Bibliothek', 'library', false),
  ('townhall', 'Rathaus / Verwaltung', 'town hall', false), ('care_home', 'Pflegeheim', 'care home', true),
  ('refugee_housing', 'Flüchtlingsunterkunft', 'refugee housing', false),
  ('cultural_venue', 'Kultureinrichtung', 'cultural venue', false),
  ('public_building', 'öffentliches Gebäude', 'public building', false);

CREATE TABLE registry.vl_site_type (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL);
INSERT INTO registry.vl_site_type VALUES
  ('mast', 'Mast', 'mast'), ('tower', 'Turm', 'tower'), ('rooftop', 'Dachstandort', 'rooftop'),
  ('streetlight', 'Kleinzelle am Lichtmast', 'small cell on streetlight'), ('other', 'sonstiger', 'other');

CREATE TABLE registry.vl_charger_type (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL);
INSERT INTO registry.vl_charger_type VALUES
  ('normal', 'Normalladeeinrichtung', 'normal charger'), ('fast', 'Schnellladeeinrichtung', 'fast charger');

CREATE TABLE registry.vl_ap_class (code text PRIMARY KEY, label_de text NOT NULL, label_en text NOT NULL,
  default_range_m double precision NOT NULL);
INSERT INTO registry.vl_ap_class VALUES
  ('outdoor', 'Außen-Access-Point', 'outdoor access point', 70),
  ('indoor', 'Innen-Access-Point', 'indoor access point', 25);

-- ---------------------------------------------------------------- organizations
CREATE TABLE registry.organization (
  slug text PRIMARY KEY CHECK (slug ~ '^[a-z0-9][a-z0-9_-]*$'),
  name text NOT NULL, kind text, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO registry.organization VALUES
  ('city', 'Stadt (Kommune)', 'municipality', now()),
  ('osm', 'OpenStreetMap contributors', 'open data', now()),
  ('bnetza', 'Bundesnetzagentur', 'regulator', now());

-- ---------------------------------------------------------------- change table
CREATE TABLE audit.change (
  seq bigserial PRIMARY KEY,
  table_name text NOT NULL,
  row_id uuid NOT NULL,
  operation text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'RESTORE', 'HARD_DELETE')),
  version integer,
  before jsonb,
  after jsonb,
  changed_at timestamptz NOT NULL DEFAULT now(),
  changed_by text,
  batch_id text);
CREATE INDEX change_row_idx ON audit.change (row_id);
CREATE INDEX change_batch_idx ON audit.change (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE audit.batch (
  id text PRIMARY KEY, kind text NOT NULL, source text, target text, started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz, created integer, updated integer, unchanged integer, rejected integer,
  changed_by text, details jsonb);

CREATE FUNCTION audit.actor() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT coalesce(nullif(current_setting('netzatlas.user', true), ''), session_user::text) $$;
CREATE FUNCTION audit.batch_id() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('netzatlas.batch', true), '') $$;

-- version, updated_at and updated_by on every real update; no-op updates are skipped entirely
CREATE FUNCTION audit.bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW IS NOT DISTINCT FROM OLD THEN
    RETURN NULL;
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  NEW.updated_by := audit.actor();
  RETURN NEW;
END $$;

-- one history row per inserted / updated / deleted row, written per statement from transition tables.
-- The row image is built with jsonb_build_object over the table's columns (generated by audit.track;
-- about 3x faster than to_jsonb(row)); geometries are stored as GeoJSON. Call audit.track(table)
-- again after a migration changes a tracked table's columns.
CREATE FUNCTION audit.row_image(tbl regclass, alias text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT 'jsonb_build_object(' || string_agg(
           format('%L, %s', attname,
                  CASE WHEN atttypid = 'geometry'::regtype THEN format('ST_AsGeoJSON(%I.%I)::jsonb', alias, attname)
                       ELSE format('%I.%I', alias, attname) END), ', ' ORDER BY attnum) || ')'
  FROM pg_attribute WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
$$;

CREATE FUNCTION audit.track(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  fname text := replace(tbl::text, '.', '_');
  new_img text := audit.row_image(tbl, 'n');
  old_img text := audit.row_image(tbl, 'o');
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS t_bump_version ON %s', tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS t_log_insert ON %s', tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS t_log_update ON %s', tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS t_log_delete ON %s', tbl);
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION audit.%1$I() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
      SELECT %2$L, n.id, 'INSERT', n.version, NULL, %3$s, audit.actor(), audit.batch_id() FROM new_rows n;
      RETURN NULL;
    END $b$ $f$, 'log_insert_' || fname, tbl::text, new_img);
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION audit.%1$I() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
      SELECT %2$L, n.id,
             CASE WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'DELETE'
                  WHEN o.deleted_at IS NOT NULL AND n.deleted_at IS NULL THEN 'RESTORE'
                  ELSE 'UPDATE' END,
             n.version, %3$s, %4$s, audit.actor(), audit.batch_id()
      FROM new_rows n JOIN old_rows o ON o.id = n.id;
      RETURN NULL;
    END $b$ $f$, 'log_update_' || fname, tbl::text, old_img, new_img);
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION audit.%1$I() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
      SELECT %2$L, o.id, 'HARD_DELETE', o.version, %3$s, NULL, audit.actor(), audit.batch_id() FROM old_rows o;
      RETURN NULL;
    END $b$ $f$, 'log_delete_' || fname, tbl::text, old_img);
  EXECUTE format('CREATE TRIGGER t_bump_version BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION audit.bump_version()', tbl);
  EXECUTE format('CREATE TRIGGER t_log_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION audit.%I()', tbl, 'log_insert_' || fname);
  EXECUTE format('CREATE TRIGGER t_log_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION audit.%I()', tbl, 'log_update_' || fname);
  EXECUTE format('CREATE TRIGGER t_log_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION audit.%I()', tbl, 'log_delete_' || fname);
END $$;

-- the shared columns of every registry layer, plus its typed columns and geometry
CREATE FUNCTION registry.create_layer(name text, geomtype text, typed_columns text, srid int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format($f$
    CREATE TABLE registry.%1$I (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      source text NOT NULL DEFAULT 'manual',
      external_id text NOT NULL DEFAULT gen_random_uuid()::text,
      owner_org text REFERENCES registry.organization (slug),
      status text NOT NULL DEFAULT 'active' REFERENCES registry.vl_status (code),
      name text,
      %2$s
      properties jsonb NOT NULL DEFAULT '{}'::jsonb,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      updated_by text DEFAULT audit.actor(),
      deleted_at timestamptz,
      geom geometry(%3$s, %4$s) %5$s,
      CONSTRAINT %1$s_source_external_id_key UNIQUE (source, external_id),
      CONSTRAINT %1$s_geom_valid CHECK (geom IS NULL OR (NOT ST_IsEmpty(geom) AND ST_IsValid(geom))))$f$,
    name, typed_columns, geomtype, srid, CASE WHEN geomtype = 'Geometry' THEN '' ELSE '' END);
  EXECUTE format('CREATE INDEX %1$s_geom_idx ON registry.%1$I USING gist (geom)', name);
  PERFORM audit.track(format('registry.%I', name)::regclass);
END $$;

-- ---------------------------------------------------------------- asset layers
SELECT registry.create_layer('fibre_address', 'Point', $c$
  street text, house_number text, house_number_suffix text, postcode text, city text,
  dwellings integer CHECK (dwellings IS NULL OR dwellings >= 0),
  is_business boolean NOT NULL DEFAULT false,
  socio_economic text,$c$, {srid});

SELECT registry.create_layer('mobile_site', 'Point', $c$
  site_type text REFERENCES registry.vl_site_type (code),
  operator text,
  height_m double precision CHECK (height_m IS NULL OR height_m >= 0),
  is_mobile boolean NOT NULL DEFAULT true,
  assumed text[] NOT NULL DEFAULT '{}',$c$, {srid});

SELECT registry.create_layer('wlan_hotspot', 'Point', $c$
  operator text, ssid text,
  ap_class text REFERENCES registry.vl_ap_class (code),
  range_m double precision CHECK (range_m IS NULL OR range_m > 0),$c$, {srid});

SELECT registry.create_layer('streetlight', 'Point', $c$
  height_m double precision CHECK (height_m IS NULL OR height_m >= 0),
  lamp_type text,
  permanent_power boolean,$c$, {srid});

SELECT registry.create_layer('charging_point', 'Point', $c$
  operator text, address text, postcode text, city text,
  charge_points integer CHECK (charge_points IS NULL OR charge_points >= 0),
  power_kw double precision CHECK (power_kw IS NULL OR power_kw >= 0),
  charger_type text REFERENCES registry.vl_charger_type (code),
  commissioned date,$c$, {srid});

-- ---------------------------------------------------------------- reference layers
SELECT registry.create_layer('municipality', 'MultiPolygon', $c$ ars text, $c$, {srid});
SELECT registry.create_layer('population_grid', 'Polygon', $c$
  cell_id text, resolution_m integer, population integer, buildings integer, dwellings integer,
  population_estimate double precision,$c$, {srid});
SELECT registry.create_layer('poi', 'Point', $c$
  category text NOT NULL REFERENCES registry.vl_poi_category (code),
  weight double precision, area_m2 double precision,$c$, {srid});
SELECT registry.create_layer('building', 'MultiPolygon', $c$
  height_m double precision NOT NULL CHECK (height_m >= 0),
  height_source text, levels integer, building_type text,$c$, {srid});
SELECT registry.create_layer('road', 'LineString', $c$ highway text, $c$, {srid});
SELECT registry.create_layer('candidate_site', 'Point', $c$
  kind text, owner text, height_m double precision, permanent_power boolean,$c$, {srid});

-- ---------------------------------------------------------------- child tables (no geometry)
CREATE TABLE registry.mobile_sector (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  source text NOT NULL DEFAULT 'manual',
  external_id text NOT NULL DEFAULT gen_random_uuid()::text,
  site_id uuid NOT NULL REFERENCES registry.mobile_site (id),
  owner_org text REFERENCES registry.organization (slug),
  operator text, technology text, band_mhz double precision CHECK (band_mhz > 0),
  height_m double precision CHECK (height_m >= 0),
  azimuth_deg double precision CHECK (azimuth_deg >= 0 AND azimuth_deg < 360),
  tilt_deg double precision CHECK (tilt_deg BETWEEN -90 AND 90),
  eirp_dbm double precision,
  assumed text[] NOT NULL DEFAULT '{}',
  properties jsonb NOT NULL DEFAULT '{}'::jsonb,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text DEFAULT audit.actor(), deleted_at timestamptz,
  CONSTRAINT mobile_sector_source_external_id_key UNIQUE (source, external_id));
CREATE INDEX mobile_sector_site_idx ON registry.mobile_sector (site_id);
SELECT audit.track('registry.mobile_sector');

CREATE TABLE registry.broadband_supply (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  source text NOT NULL DEFAULT 'manual',
  external_id text NOT NULL DEFAULT gen_random_uuid()::text,
  address_id uuid NOT NULL REFERENCES registry.fibre_address (id),
  owner_org text REFERENCES registry.organization (slug),
  operator text NOT NULL,
  technology text NOT NULL REFERENCES registry.vl_technology (code),
  down_mbps double precision NOT NULL CHECK (down_mbps >= 0),
  up_mbps double precision NOT NULL CHECK (up_mbps >= 0),
  status text NOT NULL DEFAULT 'available' REFERENCES registry.vl_supply_status (code),
  planned_date date,
  binding boolean NOT NULL DEFAULT false,
  mev_id text,
  properties jsonb NOT NULL DEFAULT '{}'::jsonb,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text DEFAULT audit.actor(), deleted_at timestamptz,
  CONSTRAINT broadband_supply_source_external_id_key UNIQUE (source, external_id),
  CONSTRAINT broadband_supply_planned_date CHECK (status <> 'planned' OR planned_date IS NOT NULL));
CREATE INDEX broadband_supply_address_idx ON registry.broadband_supply (address_id);
SELECT audit.track('registry.broadband_supply');

-- ---------------------------------------------------------------- conflation links
CREATE TABLE registry.asset_link (
  id bigserial PRIMARY KEY,
  table_name text NOT NULL,
  id_a uuid NOT NULL, id_b uuid NOT NULL,
  method text NOT NULL, distance_m double precision, details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (table_name, id_a, id_b));

COMMENT ON SCHEMA registry IS 'netzatlas: assets, reference layers, value lists, organizations';
COMMENT ON TABLE audit.change IS 'one row per insert, update, (soft) delete of any registry row: history, change feed, restore';
