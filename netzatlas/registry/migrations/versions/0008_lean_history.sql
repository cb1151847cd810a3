-- Leaner history rows: the row image leaves out what the change row already holds (id = row_id, version,
-- updated_at = changed_at, updated_by = changed_by) and keeps geometries as hex EWKB (exact, and cheap to write)
-- instead of GeoJSON; audit.image_json() gives readers the full picture back (id, geometry as GeoJSON).
-- The actor and batch id are read once per statement, not per row.
CREATE OR REPLACE FUNCTION audit.row_image(tbl regclass, alias text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT 'jsonb_build_object(' || string_agg(
           format('%L, %s', attname,
                  CASE WHEN atttypid = 'geometry'::regtype THEN format('%I.%I::text', alias, attname)
                       ELSE format('%I.%I', alias, attname) END), ', ' ORDER BY attnum) || ')'
  FROM pg_attribute WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
   AND attname NOT IN ('id', 'version', 'updated_at', 'updated_by')
$$;

CREATE OR REPLACE FUNCTION audit.track(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  fname text := replace(tbl::text, '.', '_');
  new_img text := audit.row_image(tbl, 'n');
  old_img text := audit.row_image(tbl, 'o');
  who text := '(SELECT audit.actor() AS actor, audit.batch_id() AS batch) w';
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS t_bump_version ON %s', tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS t_log_insert ON %s', tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS t_log_update ON %s', tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS t_log_delete ON %s', tbl);
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION audit.%1$I() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
      SELECT %2$L, n.id, 'INSERT', n.version, NULL, %3$s, w.actor, w.batch FROM new_rows n, %4$s;
      RETURN NULL;
    END $b$ $f$, 'log_insert_' || fname, tbl::text, new_img, who);
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION audit.%1$I() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
      SELECT %2$L, n.id,
             CASE WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'DELETE'
                  WHEN o.deleted_at IS NOT NULL AND n.deleted_at IS NULL THEN 'RESTORE'
                  ELSE 'UPDATE' END,
             n.version, %3$s, %4$s, w.actor, w.batch
      FROM new_rows n JOIN old_rows o ON o.id = n.id, %5$s;
      RETURN NULL;
    END $b$ $f$, 'log_update_' || fname, tbl::text, old_img, new_img, who);
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION audit.%1$I() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
      SELECT %2$L, o.id, 'HARD_DELETE', o.version, %3$s, NULL, w.actor, w.batch FROM old_rows o, %4$s;
      RETURN NULL;
    END $b$ $f$, 'log_delete_' || fname, tbl::text, old_img, who);
  EXECUTE format('CREATE TRIGGER t_bump_version BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION audit.bump_version()', tbl);
  EXECUTE format('CREATE TRIGGER t_log_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION audit.%I()', tbl, 'log_insert_' || fname);
  EXECUTE format('CREATE TRIGGER t_log_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION audit.%I()', tbl, 'log_update_' || fname);
  EXECUTE format('CREATE TRIGGER t_log_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION audit.%I()', tbl, 'log_delete_' || fname);
END $$;

-- a history image as readers want it: with the row's id, and the geometry as GeoJSON (older rows already are)
CREATE FUNCTION audit.image_json(img jsonb, row_id uuid) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN img IS NULL THEN NULL
              WHEN jsonb_typeof(img -> 'geom') = 'string'
              THEN jsonb_build_object('id', row_id)
                   || jsonb_set(img, '{geom}', ST_AsGeoJSON((img ->> 'geom')::geometry)::jsonb)
              ELSE jsonb_build_object('id', row_id) || img END
$$;

-- the tracked tables are re-tracked by 0008_lean_history.py (RETRACK)
