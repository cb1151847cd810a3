-- History keeps the row as it was BEFORE each change; the state after a change is derived, not stored twice.
--
-- This is the layout of SQL:2011 system-versioned tables: earlier states in the history, the current state in the
-- table. The state after change c is exactly the state before the next change of the same row (every UPDATE,
-- soft DELETE, RESTORE and HARD_DELETE stores its full before image), or — when c is the row's last change — the
-- row as it is now. INSERT rows therefore store no image, UPDATE rows only the before image: half the history
-- volume of an update and a tenth of the cost of an insert's history row. audit.after_state(c) gives the after
-- image back in the stored form (feed it to audit.image_json for readers); rows written before this revision keep
-- their stored after images, which it returns as they are.

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
      SELECT %2$L, n.id, 'INSERT', n.version, NULL, NULL, w.actor, w.batch FROM new_rows n, %3$s;
      RETURN NULL;
    END $b$ $f$, 'log_insert_' || fname, tbl::text, who);
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION audit.%1$I() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
      SELECT %2$L, o.id,
             CASE WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'DELETE'
                  WHEN o.deleted_at IS NOT NULL AND n.deleted_at IS NULL THEN 'RESTORE'
                  ELSE 'UPDATE' END,
             n.version, %3$s, NULL, w.actor, w.batch
      FROM old_rows o JOIN new_rows n USING (id), %4$s;
      RETURN NULL;
    END $b$ $f$, 'log_update_' || fname, tbl::text, old_img, who);
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION audit.%1$I() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
      SELECT %2$L, o.id, 'HARD_DELETE', o.version, %3$s, NULL, w.actor, w.batch FROM old_rows o, %4$s;
      RETURN NULL;
    END $b$ $f$, 'log_delete_' || fname, tbl::text, old_img, who);
  -- the current row's image, for audit.after_state
  EXECUTE format('CREATE OR REPLACE FUNCTION audit.%I(row_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS '
                 '$b$ SELECT %s FROM %s n WHERE n.id = row_id $b$', 'current_' || fname, new_img, tbl);
  EXECUTE format('CREATE TRIGGER t_bump_version BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION audit.bump_version()', tbl);
  EXECUTE format('CREATE TRIGGER t_log_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION audit.%I()', tbl, 'log_insert_' || fname);
  EXECUTE format('CREATE TRIGGER t_log_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION audit.%I()', tbl, 'log_update_' || fname);
  EXECUTE format('CREATE TRIGGER t_log_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION audit.%I()', tbl, 'log_delete_' || fname);
  -- audit.current_image(table, id) dispatches to the tracked tables' functions (static calls, cached plans)
  EXECUTE (SELECT format($f$
    CREATE OR REPLACE FUNCTION audit.current_image(table_name text, row_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $b$
    BEGIN
      CASE table_name %s
        ELSE RETURN NULL;
      END CASE;
    END $b$ $f$, string_agg(format('WHEN %L THEN RETURN audit.%I(row_id);', t, 'current_' || replace(t, '.', '_')),
                            ' ' ORDER BY t))
    FROM (SELECT DISTINCT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname = 't_log_insert') tracked);
END $$;

-- the row's state after change c, in the stored form (see above); a SQL function, so it is inlined into readers
CREATE FUNCTION audit.current_image(table_name text, row_id uuid) RETURNS jsonb LANGUAGE sql STABLE
  AS $$ SELECT NULL::jsonb $$;  -- replaced by audit.track() with one branch per tracked table

CREATE FUNCTION audit.after_state(c audit.change) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN c.after IS NOT NULL OR c.operation = 'HARD_DELETE' THEN c.after
              ELSE coalesce((SELECT n.before FROM audit.change n WHERE n.row_id = c.row_id AND n.seq > c.seq
                             ORDER BY n.seq LIMIT 1),
                            audit.current_image(c.table_name, c.row_id)) END
$$;

CREATE INDEX change_row_seq_idx ON audit.change (row_id, seq);
DROP INDEX audit.change_row_idx;

-- the tracked tables are re-tracked by 0010_history_before_images.py (RETRACK)
