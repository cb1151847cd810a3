"""People edit the registry as themselves (issue #16): logins, group roles, row-level security, readable refusals.

- ``registry.person`` records each person's login, organization and role (viewer / editor / admin); the login is a
  PostgreSQL role (LOGIN, no superuser) that is a member of one of the group roles ``netzatlas_viewer``,
  ``netzatlas_editor`` (member of viewer) and ``netzatlas_admin`` (member of editor). ``netzatlas users`` manages
  them (``registry/people.py``). Roles are cluster-wide: the group roles are created once (when missing) and get
  their privileges in every database migrated here.
- ``registry.grant_people(readable, editable)`` (re)applies the privileges, the policies and the guard triggers; it
  is idempotent and is run again by ``netzatlas users add`` / ``set-role`` with the layer lists of ``registry/db.py``,
  so layers added later are covered too. Viewer: SELECT on the collections the API serves that are not confidential
  (not the tables behind confidential results: ``broadband_supply``, ``gigabit_classification``, ``mev_*``), the
  mobile sectors, the value lists and the organizations. Editor: + INSERT / UPDATE / DELETE on the asset layers and
  mobile sectors. Admin: everything in schema ``registry`` and reading ``audit``.
- Row-level security is enabled (not forced: the table owner — the API, the imports, the CLI — is not subject to
  it) with policies for the group roles only: reading everything granted, writing rows whose ``owner_org`` is the
  person's organization (admins: any). Defaults fill in ``owner_org`` and the source (``api:<org>``, the
  organization's own source) of a person's new features (column defaults: a row trigger would slow COPY).
- ``registry.person_guard()``, a statement trigger on the editable tables, refuses with a readable message
  (German / English, SQLSTATE ``NZ0xx``) and writes nothing: another organization's feature (NZ002), a source of
  another organization (NZ004), a geometry outside the municipality plus ``registry.edit_area.buffer_m`` (NZ003;
  ``enabled = false`` switches it off, a region without ``registry.municipality`` rows is not checked), a login not
  registered in this database or posing as someone else through ``netzatlas.user`` (NZ005).
- ``audit.bump_version`` refuses an UPDATE whose ``version`` differs from the stored one (NZ001, stale version: the
  QGIS form sends the version it loaded); writers that do not set ``version`` (API, imports, restore) are
  unaffected. Unknown codes keep SQLSTATE 23503 with a German + English message and the known codes as hint.
- The trigger functions that write the history, the extents and check value lists run as their owner (SECURITY
  DEFINER, fixed search_path), so people need no privileges on ``audit`` tables and cannot forge history rows.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

HERE = Path(__file__).parent
DEFINER = "SECURITY DEFINER SET search_path = public, pg_temp"  # as the owner's default path: names print qualified

UP = r"""
CREATE TABLE registry.person (
  login text PRIMARY KEY CHECK (login ~ '^[a-z][a-z0-9_]{0,62}$' AND login !~ '^(pg_|netzatlas_)'),
  org text NOT NULL REFERENCES registry.organization (slug),
  role text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
  full_name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text DEFAULT audit.actor());
COMMENT ON TABLE registry.person IS
  'people who log in to the database as themselves (netzatlas users): login role, organization, role';

CREATE TABLE registry.edit_area (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  enabled boolean NOT NULL DEFAULT true,
  ars text,
  buffer_m double precision NOT NULL DEFAULT 100 CHECK (buffer_m >= 0));
INSERT INTO registry.edit_area DEFAULT VALUES;
COMMENT ON TABLE registry.edit_area IS
  'where people may place features: within buffer_m of the municipality (rows of registry.municipality, those '
  'with this ars when set); enabled = false or no municipality rows: not checked';

-- stale versions: the writer sent a version that is no longer the stored one
CREATE OR REPLACE FUNCTION audit.bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW IS NOT DISTINCT FROM OLD THEN
    RETURN NULL;
  END IF;
  IF NEW.version IS DISTINCT FROM OLD.version THEN
    RAISE EXCEPTION 'Veraltete Version: das Objekt wurde seit dem Laden von % um % geändert (Version %, geladen %) '
                    '— Layer neu laden / stale version: changed by % at % since you loaded it (version %, yours %) '
                    '— reload the layer',
                    OLD.updated_by, to_char(OLD.updated_at, 'YYYY-MM-DD HH24:MI:SS'), OLD.version, NEW.version,
                    OLD.updated_by, to_char(OLD.updated_at, 'YYYY-MM-DD HH24:MI:SS'), OLD.version, NEW.version
      USING ERRCODE = 'NZ001', TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA,
            HINT = 'Layer neu laden und die Änderung wiederholen / reload the layer and redo the change';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  NEW.updated_by := audit.actor();
  RETURN NEW;
END $$;

-- unknown codes: the same refusal (23503), readable in German and English, with the known codes
CREATE OR REPLACE FUNCTION registry.check_value_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ref record;
  codes text[];
  found_codes text[];
  known text;
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
      EXECUTE format('SELECT string_agg(c, '', '' ORDER BY c) FROM (SELECT %1$I::text AS c FROM %2$s '
                     'ORDER BY 1 LIMIT 30) k', ref.ref_column, ref.ref_table) INTO known;
      RAISE EXCEPTION 'Unbekannter Code: % % steht nicht in der Werteliste % / '
                      'insert or update on table "%": % % is not in the value list %',
                      ref.column_name, quote_literal(bad), ref.ref_table,
                      TG_TABLE_NAME, ref.column_name, quote_literal(bad), ref.ref_table
        USING ERRCODE = 'foreign_key_violation', SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
              COLUMN = ref.column_name, CONSTRAINT = ref.constraint_name,
              DETAIL = format('Key (%s)=(%s) is not present in table "%s".', ref.column_name, bad, ref.ref_table),
              HINT = format('bekannte Codes / known codes: %s', coalesce(known, '—'));
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

-- whether the session's person may write a row of organization org (policies of the group roles)
CREATE FUNCTION registry.person_may_write(org text) RETURNS boolean LANGUAGE sql STABLE {definer} AS $$
  SELECT EXISTS (SELECT 1 FROM registry.person p WHERE p.login = session_user
                 AND (p.role = 'admin' OR (p.role = 'editor' AND p.org IS NOT DISTINCT FROM org)))
$$;

-- a person's organization (column defaults of the editable layers: their new features are their organization's)
CREATE FUNCTION registry.person_org() RETURNS text LANGUAGE sql STABLE {definer} AS $$
  SELECT org FROM registry.person WHERE login = session_user
$$;

-- readable refusals for people (once per statement; everyone else returns at once)
CREATE FUNCTION registry.person_guard() RETURNS trigger LANGUAGE plpgsql {definer} AS $$
DECLARE
  p registry.person;
  claimed text := nullif(current_setting('netzatlas.user', true), '');
  bad record;
  area registry.edit_area;
  changed text;
  what text;
BEGIN
  SELECT * INTO p FROM registry.person WHERE login = session_user;
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = session_user AND NOT r.rolsuper AND NOT r.rolbypassrls)
       AND pg_has_role(session_user, 'netzatlas_viewer', 'USAGE') THEN
      RAISE EXCEPTION 'Die Anmeldung % ist in dieser Datenbank keiner Organisation zugeordnet / '
                      'the login % is not registered in this database', session_user, session_user
        USING ERRCODE = 'NZ005', HINT = 'netzatlas users add';
    END IF;
    RETURN NULL;
  END IF;
  IF claimed IS NOT NULL AND claimed <> p.login THEN
    RAISE EXCEPTION 'Sie schreiben als %, nicht als % / you write as %, not as %', p.login, claimed, p.login, claimed
      USING ERRCODE = 'NZ005', HINT = 'netzatlas.user nicht setzen / do not set netzatlas.user';
  END IF;
  -- how a feature is named in a message: its name, else its external id (sectors have no name)
  what := CASE WHEN EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = TG_RELID AND attname = 'name'
                                                         AND NOT attisdropped)
               THEN 'coalesce(%1$s.name, %1$s.external_id, %1$s.id::text)'
               ELSE 'coalesce(%1$s.external_id, %1$s.id::text)' END;
  IF p.role <> 'admin' THEN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      EXECUTE 'SELECT ' || format(what, 'o') || ' AS what, o.owner_org FROM old_rows o '
              'WHERE o.owner_org IS DISTINCT FROM $1 LIMIT 1' INTO bad USING p.org;
      IF bad.what IS NOT NULL THEN
        RAISE EXCEPTION 'Objekt "%" gehört Organisation % — % darf nur Objekte von % ändern / '
                        'feature "%" belongs to %: % may change only features of %',
                        bad.what, coalesce(bad.owner_org, '(keine)'), p.login, p.org,
                        bad.what, coalesce(bad.owner_org, '(none)'), p.login, p.org
          USING ERRCODE = 'NZ002', TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
      END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      EXECUTE 'SELECT ' || format(what, 'n') || ' AS what, n.owner_org FROM new_rows n '
              'WHERE n.owner_org IS DISTINCT FROM $1 LIMIT 1' INTO bad USING p.org;
      IF bad.what IS NOT NULL THEN
        RAISE EXCEPTION 'Objekt "%" würde Organisation % gehören — % kann nur Objekte für % anlegen / '
                        'feature "%" would belong to %: % can write only features of %',
                        bad.what, coalesce(bad.owner_org, '(keine)'), p.login, p.org,
                        bad.what, coalesce(bad.owner_org, '(none)'), p.login, p.org
          USING ERRCODE = 'NZ002', TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
      END IF;
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = TG_RELID
                                                 AND attname = 'source' AND NOT attisdropped) THEN
    -- sources belong to the organization that first wrote them (as for API keys and imports); an update is
    -- checked only when it changes the source
    changed := CASE TG_OP WHEN 'UPDATE' THEN 'new_rows n JOIN old_rows o USING (id) WHERE n.source <> o.source'
                          ELSE 'new_rows n WHERE true' END;
    EXECUTE 'INSERT INTO registry.source_owner (source, org, registered_by) SELECT DISTINCT n.source, $1, $2 FROM '
            || changed || ' AND n.source NOT LIKE ''api:%'' ON CONFLICT DO NOTHING' USING p.org, p.login;
    EXECUTE 'SELECT n.source, coalesce(s.org, CASE WHEN n.source LIKE ''api:%'' THEN substr(n.source, 5) END) AS org '
            'FROM (SELECT DISTINCT n.source FROM ' || changed || ') n '
            'LEFT JOIN registry.source_owner s USING (source) '
            'WHERE coalesce(s.org, CASE WHEN n.source LIKE ''api:%'' THEN substr(n.source, 5) END) '
            'IS DISTINCT FROM $1 LIMIT 1' INTO bad USING p.org;
    IF bad.source IS NOT NULL AND p.role <> 'admin' THEN
      RAISE EXCEPTION 'Die Quelle "%" gehört Organisation % / the source "%" belongs to %',
                      bad.source, bad.org, bad.source, bad.org
        USING ERRCODE = 'NZ004', HINT = format('Quelle leer lassen oder / leave the source empty or use api:%s', p.org);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    -- geometries within the municipality (plus the buffer)
    SELECT * INTO area FROM registry.edit_area;
    IF area.enabled AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = TG_RELID AND attname = 'geom'
                                                           AND NOT attisdropped) THEN
      -- row by row against the boundary polygons (their index), not their union: no union per statement
      IF EXISTS (SELECT 1 FROM registry.municipality m WHERE m.deleted_at IS NULL AND m.geom IS NOT NULL
                                                         AND (area.ars IS NULL OR m.ars = area.ars)) THEN
        changed := CASE TG_OP WHEN 'UPDATE' THEN ' JOIN old_rows o USING (id) WHERE n.geom IS DISTINCT FROM o.geom AND '
                              ELSE ' WHERE ' END;
        EXECUTE 'SELECT ' || format(what, 'n') || ' AS what, (SELECT round(min(ST_Distance(n.geom, m.geom))) '
                'FROM registry.municipality m WHERE m.deleted_at IS NULL AND m.geom IS NOT NULL '
                'AND ($2::text IS NULL OR m.ars = $2)) AS metres FROM new_rows n' || changed
                || 'n.geom IS NOT NULL AND NOT EXISTS (SELECT 1 FROM registry.municipality m '
                'WHERE m.deleted_at IS NULL AND m.geom IS NOT NULL AND ($2::text IS NULL OR m.ars = $2) '
                'AND ST_DWithin(n.geom, m.geom, $1)) LIMIT 1'
          INTO bad USING area.buffer_m, area.ars;
        IF bad.what IS NOT NULL THEN
          RAISE EXCEPTION 'Die Geometrie von "%" liegt % m außerhalb des Gemeindegebiets (erlaubt: % m) / '
                          'the geometry of "%" lies % m outside the municipality (allowed: % m)',
                          bad.what, bad.metres, area.buffer_m, bad.what, bad.metres, area.buffer_m
            USING ERRCODE = 'NZ003', TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
        END IF;
      END IF;
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- the history, extents and value checks run as their owner: people need no privileges on audit / extent tables
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT DISTINCT p.oid::regprocedure FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            JOIN pg_class c ON c.oid = t.tgrelid
           WHERE c.relnamespace = 'registry'::regnamespace AND NOT t.tgisinternal AND t.tgtype & 1 = 0
             AND p.proname NOT IN ('guard_referenced_value', 'person_guard') LOOP
    EXECUTE format('ALTER FUNCTION %s {definer}', f);
  END LOOP;
END $$;
DO $$
DECLARE def text := pg_get_functiondef('audit.track(regclass)'::regprocedure);
BEGIN
  IF position('LANGUAGE plpgsql AS $b$' IN def) = 0 THEN
    RAISE EXCEPTION 'audit.track() is not the one this migration knows';
  END IF;
  EXECUTE replace(def, 'LANGUAGE plpgsql AS $b$', 'LANGUAGE plpgsql {definer} AS $b$');
END $$;

-- privileges, policies and guards for the group roles; run again after new layers (netzatlas users does)
CREATE FUNCTION registry.grant_people(readable text[], editable text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'netzatlas_admin') THEN
    RETURN;
  END IF;
  GRANT USAGE ON SCHEMA registry, audit TO netzatlas_viewer;
  GRANT ALL ON ALL TABLES IN SCHEMA registry TO netzatlas_admin;
  GRANT SELECT ON ALL TABLES IN SCHEMA audit TO netzatlas_admin;
  GRANT USAGE ON ALL SEQUENCES IN SCHEMA registry TO netzatlas_admin;
  FOR t IN SELECT c.oid::regclass AS tbl, c.relname, c.relkind,
                  EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'owner_org'
                                                         AND NOT a.attisdropped) AS owned,
                  coalesce(lp.confidential, false) AS confidential
             FROM pg_class c LEFT JOIN registry.layer_policy lp ON lp.layer = c.relname
            WHERE c.relnamespace = 'registry'::regnamespace AND c.relkind IN ('r', 'v', 'p') AND NOT c.relispartition
              AND (c.relname = ANY (readable || editable) OR c.relname LIKE 'vl\_%' OR c.relname = 'organization')
  LOOP
    IF NOT t.confidential THEN
      EXECUTE format('GRANT SELECT ON %s TO netzatlas_viewer', t.tbl);
    END IF;
    IF t.relname = ANY (editable) AND NOT t.confidential THEN
      EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %s TO netzatlas_editor', t.tbl);
    END IF;
    -- policies, guards and defaults once per table (they lock it; a rerun for a new person locks nothing)
    CONTINUE WHEN t.relkind = 'v' OR NOT t.owned
               OR EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t.tbl AND polname = 'person_read');
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t.tbl);
    EXECUTE format('DROP POLICY IF EXISTS person_read ON %s', t.tbl);
    EXECUTE format('DROP POLICY IF EXISTS person_insert ON %s', t.tbl);
    EXECUTE format('DROP POLICY IF EXISTS person_update ON %s', t.tbl);
    EXECUTE format('DROP POLICY IF EXISTS person_delete ON %s', t.tbl);
    EXECUTE format('CREATE POLICY person_read ON %s FOR SELECT TO netzatlas_viewer USING (true)', t.tbl);
    EXECUTE format('CREATE POLICY person_insert ON %s FOR INSERT TO netzatlas_editor '
                   'WITH CHECK (registry.person_may_write(owner_org))', t.tbl);
    -- old rows of other organizations are refused by registry.person_guard with a message (a USING clause
    -- would hide them: the update would silently change nothing)
    EXECUTE format('CREATE POLICY person_update ON %s FOR UPDATE TO netzatlas_editor USING (true) '
                   'WITH CHECK (registry.person_may_write(owner_org))', t.tbl);
    EXECUTE format('CREATE POLICY person_delete ON %s FOR DELETE TO netzatlas_editor USING (true)', t.tbl);
    IF t.relname = ANY (editable) THEN
      EXECUTE format('DROP TRIGGER IF EXISTS t_person_guard_insert ON %s', t.tbl);
      EXECUTE format('DROP TRIGGER IF EXISTS t_person_guard_update ON %s', t.tbl);
      EXECUTE format('DROP TRIGGER IF EXISTS t_person_guard_delete ON %s', t.tbl);
      -- defaults, not a row trigger: a BEFORE ROW trigger would make COPY insert row by row (imports); only a
      -- person's connection (netzatlas.person is set for their login) looks the organization up
      EXECUTE format('ALTER TABLE %s ALTER COLUMN owner_org SET DEFAULT CASE WHEN '
                     'current_setting(''netzatlas.person'', true) = ''on'' THEN registry.person_org() END', t.tbl);
      IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t.tbl AND attname = 'source' AND NOT attisdropped) THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN source SET DEFAULT CASE WHEN '
                       'current_setting(''netzatlas.person'', true) = ''on'' THEN ''api:'' || registry.person_org() '
                       'ELSE ''manual'' END', t.tbl);
      END IF;
      EXECUTE format('CREATE TRIGGER t_person_guard_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                     'FOR EACH STATEMENT EXECUTE FUNCTION registry.person_guard()', t.tbl);
      EXECUTE format('CREATE TRIGGER t_person_guard_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows '
                     'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry.person_guard()', t.tbl);
      EXECUTE format('CREATE TRIGGER t_person_guard_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                     'FOR EACH STATEMENT EXECUTE FUNCTION registry.person_guard()', t.tbl);
    END IF;
  END LOOP;
END $$;

-- the group roles (cluster-wide: created once, when the migrating role may create roles)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
    RAISE NOTICE 'netzatlas: % may not create roles; people (netzatlas users) are not available', current_user;
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'netzatlas_viewer') THEN
    CREATE ROLE netzatlas_viewer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'netzatlas_editor') THEN
    CREATE ROLE netzatlas_editor NOLOGIN IN ROLE netzatlas_viewer;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'netzatlas_admin') THEN
    CREATE ROLE netzatlas_admin NOLOGIN IN ROLE netzatlas_editor;
  END IF;
  -- the collections the API serves (registry/db.py), the sectors of the mobile sites; netzatlas users passes the
  -- lists of its version again
  PERFORM registry.grant_people(
    ARRAY['fibre_address', 'mobile_site', 'wlan_hotspot', 'streetlight', 'charging_point', 'municipality',
          'population_grid', 'poi', 'building', 'road', 'candidate_site', 'monument', 'municipal_property',
          'gigabit_result', 'funding_area_result', 'coverage_hole_result', 'mev_summary_result', 'mast_request',
          'mobile_sector'],
    ARRAY['fibre_address', 'mobile_site', 'mobile_sector', 'wlan_hotspot', 'streetlight', 'charging_point']);
END $$;
"""

DOWN = r"""
DO $$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT DISTINCT tgrelid::regclass FROM pg_trigger WHERE tgname = 't_person_guard_insert' LOOP
    EXECUTE format('ALTER TABLE %s ALTER COLUMN owner_org DROP DEFAULT, ALTER COLUMN source SET DEFAULT ''manual''', t);
    EXECUTE format('DROP TRIGGER t_person_guard_insert ON %s', t);
    EXECUTE format('DROP TRIGGER t_person_guard_update ON %s', t);
    EXECUTE format('DROP TRIGGER t_person_guard_delete ON %s', t);
  END LOOP;
  FOR t IN SELECT DISTINCT polrelid::regclass FROM pg_policy WHERE polname LIKE 'person\_%' LOOP
    EXECUTE format('DROP POLICY IF EXISTS person_read ON %1$s; DROP POLICY IF EXISTS person_insert ON %1$s; '
                   'DROP POLICY IF EXISTS person_update ON %1$s; DROP POLICY IF EXISTS person_delete ON %1$s; '
                   'ALTER TABLE %1$s DISABLE ROW LEVEL SECURITY', t);
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'netzatlas_admin') THEN
    REVOKE ALL ON ALL TABLES IN SCHEMA registry FROM netzatlas_viewer, netzatlas_editor, netzatlas_admin;
    REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM netzatlas_admin;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA registry FROM netzatlas_admin;
    REVOKE ALL ON SCHEMA registry, audit FROM netzatlas_viewer;
  END IF;
END $$;
DROP FUNCTION registry.grant_people(text[], text[]), registry.person_guard(), registry.person_org(),
              registry.person_may_write(text);
DROP TABLE registry.person, registry.edit_area;
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.prosecdef
              AND p.pronamespace IN ('registry'::regnamespace, 'audit'::regnamespace) LOOP
    EXECUTE format('ALTER FUNCTION %s SECURITY INVOKER RESET search_path', f);
  END LOOP;
END $$;
DO $$
DECLARE def text := pg_get_functiondef('audit.track(regclass)'::regprocedure);
BEGIN
  EXECUTE replace(def, 'LANGUAGE plpgsql {definer} AS $b$', 'LANGUAGE plpgsql AS $b$');
END $$;
CREATE OR REPLACE FUNCTION audit.bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW IS NOT DISTINCT FROM OLD THEN
    RETURN NULL;
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  NEW.updated_by := audit.actor();
  RETURN NEW;
END $$;
"""


def _value_check_0009() -> str:
    """registry.check_value_references() as revision 0009 wrote it."""
    text = (HERE / "0009_value_references.sql").read_text()
    start = text.index("CREATE FUNCTION registry.check_value_references()")
    end = text.index("END $$;", start) + len("END $$;")
    return text[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute(UP.replace("{definer}", DEFINER))


def downgrade() -> None:
    conn = op.get_bind().connection.driver_connection
    conn.execute(DOWN.replace("{definer}", DEFINER))
    conn.execute(_value_check_0009())
    # the group roles go when no other database of the cluster still grants them anything
    conn.execute("""
        DO $$
        BEGIN
          DROP ROLE IF EXISTS netzatlas_admin, netzatlas_editor, netzatlas_viewer;
        EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege OR object_in_use THEN
          RAISE NOTICE 'netzatlas: the group roles stay (other databases of this cluster use them)';
        END $$;""")
