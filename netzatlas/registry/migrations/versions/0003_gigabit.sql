-- Gigabit: classification snapshots (each MEV / classification run kept, dated) and funding areas.
CREATE TABLE registry.gigabit_snapshot (
  id text PRIMARY KEY,
  title text,
  programme text NOT NULL,
  reference_date date NOT NULL,
  simulated boolean NOT NULL DEFAULT false,
  note text,
  created_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE registry.gigabit_classification (
  snapshot_id text NOT NULL REFERENCES registry.gigabit_snapshot (id) ON DELETE CASCADE,
  address_id uuid NOT NULL REFERENCES registry.fibre_address (id),
  best_down_mbps double precision, best_up_mbps double precision, best_technology text,
  nga_networks integer NOT NULL, planned_down_mbps double precision, planned_up_mbps double precision,
  planned_date date, binding_plan boolean NOT NULL, class_de text NOT NULL, class_en text NOT NULL,
  eligible boolean NOT NULL, reason text NOT NULL,
  PRIMARY KEY (snapshot_id, address_id));

CREATE TABLE registry.funding_area (
  snapshot_id text NOT NULL REFERENCES registry.gigabit_snapshot (id) ON DELETE CASCADE,
  area_no integer NOT NULL, rank integer, addresses integer, dwellings double precision, businesses integer,
  schools integer, hospitals integer, trench_m double precision, cost_eur double precision,
  cost_per_connection_eur double precision, geom geometry(MultiPolygon, {srid}),
  PRIMARY KEY (snapshot_id, area_no));
CREATE INDEX funding_area_geom_idx ON registry.funding_area USING gist (geom);
