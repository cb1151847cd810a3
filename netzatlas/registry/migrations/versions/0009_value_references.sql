-- References to value lists (status, site_type, ap_class, charger_type, category, technology, …) and to
-- organizations (owner_org), checked once per statement instead of once per row.
--
-- A foreign key checks each written row on its own (one index probe and one row lock per row and reference:
-- about 3 µs, i.e. 0.6 s of a 100,000-row sync with two references). These columns hold a handful of distinct codes,
-- so the same guarantee is given per statement: the distinct codes of the written rows (from the transition
-- table) are locked FOR KEY SHARE in the referenced table, as a foreign key would lock them, and any code not found
-- there fails the statement with SQLSTATE 23503 (foreign_key_violation), as a foreign key would. The referenced
-- side refuses to delete, re-key or truncate a code still in use. Entity references (a sector's site, a supply
-- row's address, an API key's organization) stay ordinary foreign keys.
-- Writers use READ COMMITTED (the default), under which this is as strict as a foreign key.

CREATE TABLE registry.value_reference (
  table_name regclass NOT NULL,
  column_name name NOT NULL,
  ref_table regclass NOT NULL,
  ref_column name NOT NULL,
  constraint_name name NOT NULL,  -- the foreign key it replaces (re-created on downgrade)
  PRIMARY KEY (table_name, column_name));

CREATE FUNCTION registry.check_value_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ref record;
  codes text[];
  found_codes text[];
  bad text;
BEGIN
  FOR ref IN SELECT * FROM registry.value_reference WHERE table_name = TG_RELID::regclass ORDER BY column_name LOOP
    EXECUTE format('SELECT array_agg(DISTINCT n.%1$I::text) FILTER (WHERE n.%1$I IS NOT NULL) FROM new_rows n',
                   ref.column_name) INTO codes;
    CONTINUE WHEN codes IS NULL;
    EXECUTE format('SELECT array_agg(c) FROM (SELECT r.%1$I::text AS c FROM %2$s r WHERE r.%1$I::text = ANY ($1) '
                   'FOR KEY SHARE OF r) l', ref.ref_column, ref.ref_table) INTO found_codes USING codes;
    SELECT c INTO bad FROM unnest(codes) c WHERE c <> ALL (coalesce(found_codes, '{}')) ORDER BY c LIMIT 1;
    IF bad IS NOT NULL THEN
      RAISE EXCEPTION 'insert or update on table "%": % % is not in the value list %',
                      TG_TABLE_NAME, ref.column_name, quote_literal(bad), ref.ref_table
        USING ERRCODE = 'foreign_key_violation', SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
              COLUMN = ref.column_name, CONSTRAINT = ref.constraint_name,
              DETAIL = format('Key (%s)=(%s) is not present in table "%s".', ref.column_name, bad, ref.ref_table),
              HINT = format('the known codes are the rows of %s', ref.ref_table);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

CREATE FUNCTION registry.guard_referenced_value() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ref record;
  old_code text;
  used boolean;
BEGIN
  FOR ref IN SELECT * FROM registry.value_reference WHERE ref_table = TG_RELID::regclass LOOP
    IF TG_OP = 'TRUNCATE' THEN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I IS NOT NULL)', ref.table_name, ref.column_name)
        INTO used;
    ELSE
      old_code := to_jsonb(OLD) ->> ref.ref_column;
      CONTINUE WHEN TG_OP = 'UPDATE' AND (to_jsonb(NEW) ->> ref.ref_column) IS NOT DISTINCT FROM old_code;
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I::text = $1)', ref.table_name, ref.column_name)
        INTO used USING old_code;
    END IF;
    IF used AND TG_OP = 'TRUNCATE' THEN
      RAISE EXCEPTION 'truncate of table "%" refused: % uses its codes (column %)',
                      TG_TABLE_NAME, ref.table_name, ref.column_name
        USING ERRCODE = 'foreign_key_violation', SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
              CONSTRAINT = ref.constraint_name;
    ELSIF used THEN
      RAISE EXCEPTION 'update or delete on table "%": % is still used by %.%',
                      TG_TABLE_NAME, quote_literal(old_code), ref.table_name, ref.column_name
        USING ERRCODE = 'foreign_key_violation', SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
              CONSTRAINT = ref.constraint_name,
              DETAIL = format('Key (%s)=(%s) is still referenced from table "%s".', ref.ref_column, old_code,
                              ref.table_name);
    END IF;
  END LOOP;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;

-- turn a table's foreign keys to value lists / organizations into statement-level value references
CREATE FUNCTION registry.use_value_references(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  fk record;
  ref regclass;
BEGIN
  FOR fk IN
    SELECT c.conname, a.attname AS col, c.confrelid::regclass AS ref_table, ra.attname AS ref_col
      FROM pg_constraint c
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
      JOIN pg_class rc ON rc.oid = c.confrelid
     WHERE c.conrelid = tbl AND c.contype = 'f' AND cardinality(c.conkey) = 1
       AND rc.relnamespace = 'registry'::regnamespace
       AND (rc.relname LIKE 'vl\_%' OR rc.relname = 'organization')
  LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, fk.conname);
    INSERT INTO registry.value_reference VALUES (tbl, fk.col, fk.ref_table, fk.ref_col, fk.conname);
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM registry.value_reference WHERE table_name = tbl) THEN
    RETURN;
  END IF;
  EXECUTE format('DROP TRIGGER IF EXISTS t_check_values_insert ON %s', tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS t_check_values_update ON %s', tbl);
  EXECUTE format('CREATE TRIGGER t_check_values_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION registry.check_value_references()', tbl);
  EXECUTE format('CREATE TRIGGER t_check_values_update AFTER UPDATE ON %s REFERENCING NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION registry.check_value_references()', tbl);
  FOR ref IN SELECT DISTINCT ref_table FROM registry.value_reference WHERE table_name = tbl LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS t_guard_referenced_value ON %s', ref);
    EXECUTE format('DROP TRIGGER IF EXISTS t_guard_referenced_truncate ON %s', ref);
    EXECUTE format('CREATE TRIGGER t_guard_referenced_value BEFORE UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION registry.guard_referenced_value()', ref);
    EXECUTE format('CREATE TRIGGER t_guard_referenced_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION registry.guard_referenced_value()', ref);
  END LOOP;
END $$;

DO $$
DECLARE t regclass;
BEGIN
  -- the tables written in bulk: the tracked ones (layers, sectors, supply rows)
  FOR t IN SELECT DISTINCT tgrelid::regclass FROM pg_trigger WHERE tgname = 't_log_insert' ORDER BY 1 LOOP
    PERFORM registry.use_value_references(t);
  END LOOP;
END $$;

-- layers created from now on get value references too
CREATE OR REPLACE FUNCTION registry.create_layer(name text, geomtype text, typed_columns text, srid int)
RETURNS void LANGUAGE plpgsql AS $$
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
      geom geometry(%3$s, %4$s),
      CONSTRAINT %1$s_source_external_id_key UNIQUE (source, external_id),
      CONSTRAINT %1$s_geom_valid CHECK (geom IS NULL OR (NOT ST_IsEmpty(geom) AND ST_IsValid(geom))))$f$,
    name, typed_columns, geomtype, srid);
  EXECUTE format('CREATE INDEX %1$s_geom_idx ON registry.%1$I USING gist (geom)', name);
  PERFORM audit.track(format('registry.%I', name)::regclass);
  PERFORM registry.use_value_references(format('registry.%I', name)::regclass);
END $$;
