-- Mobile coverage holes of the latest coverage run per operator and technology, served as a read-only collection.
CREATE TABLE registry.coverage_hole (
  run_id text NOT NULL, operator text NOT NULL, technology text NOT NULL, hole integer NOT NULL,
  threshold_dbm double precision NOT NULL, people double precision, addresses integer, area_ha double precision,
  created_at timestamptz NOT NULL DEFAULT now(), geom geometry(MultiPolygon, {srid}),
  PRIMARY KEY (run_id, operator, technology, hole));
CREATE INDEX coverage_hole_geom_idx ON registry.coverage_hole USING gist (geom);
CREATE VIEW registry.coverage_hole_result AS
SELECT md5(run_id || '/' || operator || '/' || technology || '/' || hole)::uuid AS id, 'mobile'::text AS source,
       run_id || '/' || operator || '/' || technology || '/' || hole AS external_id, run_id, operator, technology,
       hole, threshold_dbm, people, addresses, area_ha, 1 AS version, created_at AS updated_at,
       NULL::timestamptz AS deleted_at, geom
FROM registry.coverage_hole;
