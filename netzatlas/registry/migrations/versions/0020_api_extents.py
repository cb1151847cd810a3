"""Collection extents kept current.

The API's collection documents give each collection's spatial extent (and the interval of ``updated_at``, what the
``datetime`` parameter filters). Before, they came from ``ST_EstimatedExtent`` (planner statistics: none for the
result views, so ``gigabit_result`` said "the whole world"; stale until the next ANALYZE; a sample, so it could
cut off outliers) and from two ``min/max(updated_at)`` scans of the whole table on every read.

Now the extent is kept in ``registry.collection_extent`` (a box in the layer's CRS, which writes compare with, and
the CRS84 box the API serves — exact when computed: the data transformed, not their box) and computed from the
data:

- ``registry.collection_extent_current(layer)`` answers from the kept row; it computes it (one scan) when there is
  none, folds in the extensions that writes recorded since, and computes it again when a write may have shrunk it.
- Writes do not scan the table: statement triggers on every layer look at the rows the statement wrote (the
  transition tables) only when a kept extent exists, and record in ``registry.collection_extent_change`` an
  extension (new rows outside the kept box) or a possible shrink (a deleted, soft-deleted or moved row that lay on
  the box's edge or at the start of the interval). A layer's interval is served open at its end (``null``: it is
  written to until now), so that not every write records a later end; a result view's end is its newest row's.
  A record is an INSERT, never an UPDATE of a shared row, and writers take only a share lock on the kept row, so
  concurrent writers do not wait for each other; a record becomes visible when its writer commits.
- Result views (``gigabit_result``, …) cannot carry triggers: the tables they are built from (found in the
  catalogue, ``pg_depend``) record a recomputation for them on every write; a layer that is also such a base
  (``fibre_address`` under ``gigabit_result``) only when its own extent may have changed.
- Consistency: a reader that keeps what it computes locks the kept row (FOR UPDATE SKIP LOCKED): it waits for no
  writer (when writers hold the row it answers without keeping), and writers that come while it computes wait
  for it and then decide against the new row; it deletes the records it folds before it scans (a later
  snapshot). So an extent never misses a committed write.

Layers created later are tracked with ``SELECT registry.track_extent('registry.<table>')``; until then their extent
is computed on every read (``registry.extent_tracked`` lists the tracked ones).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE registry.collection_extent (
  layer text PRIMARY KEY,
  x_min double precision, y_min double precision, x_max double precision, y_max double precision,
  lon_min double precision, lat_min double precision, lon_max double precision, lat_max double precision,
  t_min timestamptz, t_max timestamptz,
  computed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE registry.collection_extent IS
  'kept extent of each collection: box in the layer CRS (what writes compare with), in CRS84 (what the API '
  'serves: exact when computed, widened by the transformed box of what writes added since), interval of '
  'updated_at; read through collection_extent_current()';

-- The CRS84 bounding box of a box in a layer's CRS (densified, so curved edges stay inside).
CREATE FUNCTION registry.extent_crs84(x1 float8, y1 float8, x2 float8, y2 float8, srid integer) RETURNS box2d
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT ST_Transform(ST_Segmentize(ST_MakeEnvelope(x1, y1, x2, y2, srid),
                                    CASE WHEN srid IN (4326, 4258) THEN 0.01 ELSE 1000 END), 4326)::box2d
$fn$;
CREATE TABLE registry.collection_extent_change (
  layer text NOT NULL,
  x_min double precision, y_min double precision, x_max double precision, y_max double precision,
  t_min timestamptz, t_max timestamptz,
  shrink boolean NOT NULL DEFAULT false
);
CREATE INDEX collection_extent_change_layer ON registry.collection_extent_change (layer);
COMMENT ON TABLE registry.collection_extent_change IS
  'extensions (or possible shrinks: recompute) of kept extents recorded by writes, folded in by the next read';
CREATE TABLE registry.extent_tracked (
  layer text PRIMARY KEY
);
COMMENT ON TABLE registry.extent_tracked IS 'collections whose writes record extent changes (registry.track_extent)';

-- Mark collections (result views) for computing again, unless a recomputation is pending already. The caller
-- holds a share lock on their kept rows (a reader computing them waits for it, so the mark it sees is current).
CREATE FUNCTION registry.extent_recompute(layers text[]) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM 1 FROM registry.collection_extent WHERE layer = ANY (layers) ORDER BY layer FOR SHARE;
  INSERT INTO registry.collection_extent_change (layer, shrink)
  SELECT e.layer, true FROM registry.collection_extent e
  WHERE e.layer = ANY (layers)
    AND NOT EXISTS (SELECT 1 FROM registry.collection_extent_change c WHERE c.layer = e.layer AND c.shrink);
END
$fn$;

-- A layer's own writes: extension or possible shrink of its kept extent; TG_ARGV: the views built on the layer.
-- The share lock on the kept row orders the decision against a reader computing the extent (FOR UPDATE).
CREATE FUNCTION registry.extent_on_layer_write() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  k registry.collection_extent;
  x1 double precision; y1 double precision; x2 double precision; y2 double precision;
  t1 timestamptz; t2 timestamptz;
  grow boolean := false;
  shrink boolean := false;
BEGIN
  SELECT * INTO k FROM registry.collection_extent WHERE layer = TG_TABLE_NAME FOR SHARE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF EXISTS (SELECT 1 FROM registry.collection_extent_change c WHERE c.layer = TG_TABLE_NAME AND c.shrink) THEN
    -- computed again on the next read anyway (e.g. never read yet): nothing to look at, only the views to mark
    IF TG_NARGS > 0 THEN
      PERFORM registry.extent_recompute(TG_ARGV);
    END IF;
    RETURN NULL;
  END IF;
  -- a shrink is possible when a row that was there lay on the box's edge or at the start of the interval
  IF TG_OP = 'TRUNCATE' THEN
    shrink := true;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), q.t1, q.t2 INTO x1, y1, x2, y2, t1, t2
    FROM (SELECT ST_Extent(geom) AS e, min(updated_at) AS t1, max(updated_at) AS t2
          FROM new_rows WHERE deleted_at IS NULL) q;
  ELSIF TG_OP = 'UPDATE' THEN   -- one statement for both transition tables
    SELECT ST_XMin(q.e), ST_YMin(q.e), ST_XMax(q.e), ST_YMax(q.e), q.t1, q.t2,
           k.x_min IS NOT NULL AND EXISTS (SELECT 1 FROM old_rows o WHERE o.deleted_at IS NULL AND (
             ST_XMin(o.geom) <= k.x_min OR ST_YMin(o.geom) <= k.y_min OR ST_XMax(o.geom) >= k.x_max
             OR ST_YMax(o.geom) >= k.y_max OR o.updated_at <= k.t_min))
    INTO x1, y1, x2, y2, t1, t2, shrink
    FROM (SELECT ST_Extent(geom) AS e, min(updated_at) AS t1, max(updated_at) AS t2
          FROM new_rows WHERE deleted_at IS NULL) q;
  ELSIF k.x_min IS NOT NULL THEN   -- DELETE
    shrink := EXISTS (SELECT 1 FROM old_rows o WHERE o.deleted_at IS NULL AND (
                ST_XMin(o.geom) <= k.x_min OR ST_YMin(o.geom) <= k.y_min OR ST_XMax(o.geom) >= k.x_max
                OR ST_YMax(o.geom) >= k.y_max OR o.updated_at <= k.t_min));
  END IF;
  -- (a later updated_at is no change: a layer's interval is served open at its end, as it is written to)
  grow := coalesce(x1 IS NOT NULL AND (k.x_min IS NULL OR x1 < k.x_min OR y1 < k.y_min OR x2 > k.x_max
                                       OR y2 > k.y_max OR t1 < k.t_min), false);
  shrink := coalesce(shrink, false);
  IF shrink THEN
    PERFORM registry.extent_recompute(ARRAY[TG_TABLE_NAME::text]);
  ELSIF grow THEN
    INSERT INTO registry.collection_extent_change (layer, x_min, y_min, x_max, y_max, t_min, t_max)
    VALUES (TG_TABLE_NAME, x1, y1, x2, y2, t1, t2);
  END IF;
  IF (grow OR shrink) AND TG_NARGS > 0 THEN
    PERFORM registry.extent_recompute(TG_ARGV);
  END IF;
  RETURN NULL;
END
$fn$;

-- A table a result view is built from (not a collection itself): any write → the views are computed again.
CREATE FUNCTION registry.extent_on_base_write() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_NARGS > 0 THEN
    PERFORM registry.extent_recompute(TG_ARGV);
  END IF;
  RETURN NULL;
END
$fn$;

-- Track a table: a layer (geom, updated_at, deleted_at) and/or the base of result views. Kept rows are created
-- (to be computed on their first read), so every write finds the row it locks.
CREATE FUNCTION registry.track_extent(tbl regclass, views text[] DEFAULT '{}', is_layer boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  args text := (SELECT coalesce(string_agg(quote_literal(v), ', '), '') FROM unnest(views) v);
  name text := (SELECT relname FROM pg_class WHERE oid = tbl);
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS extent_ins ON %1$s; DROP TRIGGER IF EXISTS extent_upd ON %1$s; '
                 'DROP TRIGGER IF EXISTS extent_del ON %1$s; DROP TRIGGER IF EXISTS extent_trunc ON %1$s; '
                 'DROP TRIGGER IF EXISTS extent_base ON %1$s', tbl);
  IF is_layer THEN
    EXECUTE format('CREATE TRIGGER extent_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION registry.extent_on_layer_write(%s)', tbl, args);
    EXECUTE format('CREATE TRIGGER extent_upd AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows '
                   'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry.extent_on_layer_write(%s)',
                   tbl, args);
    EXECUTE format('CREATE TRIGGER extent_del AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION registry.extent_on_layer_write(%s)', tbl, args);
    EXECUTE format('CREATE TRIGGER extent_trunc AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION registry.extent_on_layer_write(%s)', tbl, args);
    INSERT INTO registry.extent_tracked VALUES (name) ON CONFLICT DO NOTHING;
    INSERT INTO registry.collection_extent (layer) VALUES (name) ON CONFLICT DO NOTHING;
    INSERT INTO registry.collection_extent_change (layer, shrink) VALUES (name, true);
  ELSE
    EXECUTE format('CREATE TRIGGER extent_base AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION registry.extent_on_base_write(%s)', tbl, args);
  END IF;
  INSERT INTO registry.extent_tracked SELECT unnest(views) ON CONFLICT DO NOTHING;
  INSERT INTO registry.collection_extent (layer) SELECT unnest(views) ON CONFLICT DO NOTHING;
  INSERT INTO registry.collection_extent_change (layer, shrink) SELECT unnest(views), true;
END
$fn$;

-- The current extent of a collection (table or view with geom, updated_at, deleted_at). When its kept row can be
-- locked (FOR UPDATE: writers of the layer hold a share lock until they commit, and wait for this one), the
-- records are deleted, folded in or the extent computed again, and kept; when writers hold the row, the answer
-- is worked out the same way without keeping it (no reader waits for a long import).
CREATE FUNCTION registry.collection_extent_current(p_layer text) RETURNS registry.collection_extent
LANGUAGE plpgsql AS $fn$
DECLARE
  k registry.collection_extent;
  scan record;
  grown box2d;
  locked boolean := false;
  tracked boolean := EXISTS (SELECT 1 FROM registry.extent_tracked WHERE layer = p_layer);
  srid integer := (SELECT g.srid FROM geometry_columns g WHERE g.f_table_schema = 'registry'
                   AND g.f_table_name = p_layer AND g.f_geometry_column = 'geom');
BEGIN
  IF tracked THEN
    SELECT * INTO k FROM registry.collection_extent WHERE layer = p_layer FOR UPDATE SKIP LOCKED;
    locked := FOUND;
    IF NOT locked THEN
      SELECT * INTO k FROM registry.collection_extent WHERE layer = p_layer;
    END IF;
  END IF;
  IF tracked AND k.layer IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM registry.collection_extent_change WHERE layer = p_layer AND shrink) THEN
    -- fold in what writes added: the box grows by theirs, the CRS84 box by the bounding box of theirs transformed
    SELECT min(c.x_min) AS x1, min(c.y_min) AS y1, max(c.x_max) AS x2, max(c.y_max) AS y2, min(c.t_min) AS t1,
           max(c.t_max) AS t2, count(*) AS n INTO scan
    FROM registry.collection_extent_change c WHERE c.layer = p_layer;
    IF scan.n = 0 THEN
      locked := false;   -- nothing to keep
    ELSIF locked THEN
      DELETE FROM registry.collection_extent_change WHERE layer = p_layer;
    END IF;
    grown := CASE WHEN scan.x1 IS NOT NULL THEN registry.extent_crs84(scan.x1, scan.y1, scan.x2, scan.y2, srid) END;
    k.x_min := least(k.x_min, scan.x1); k.y_min := least(k.y_min, scan.y1);
    k.x_max := greatest(k.x_max, scan.x2); k.y_max := greatest(k.y_max, scan.y2);
    k.lon_min := least(k.lon_min, ST_XMin(grown)); k.lat_min := least(k.lat_min, ST_YMin(grown));
    k.lon_max := greatest(k.lon_max, ST_XMax(grown)); k.lat_max := greatest(k.lat_max, ST_YMax(grown));
    k.t_min := least(k.t_min, scan.t1); k.t_max := greatest(k.t_max, scan.t2); k.computed_at := now();
  ELSE
    -- computed from the data; the records are deleted first (an earlier snapshot than the scan's)
    IF locked THEN
      DELETE FROM registry.collection_extent_change WHERE layer = p_layer;
    END IF;
    EXECUTE format('SELECT ST_XMin(e) AS x1, ST_YMin(e) AS y1, ST_XMax(e) AS x2, ST_YMax(e) AS y2, '
                   'ST_XMin(g) AS l1, ST_YMin(g) AS b1, ST_XMax(g) AS l2, ST_YMax(g) AS b2, t1, t2 FROM '
                   '(SELECT ST_Extent(geom) AS e, ST_Extent(ST_Transform(geom, 4326)) AS g, min(updated_at) AS t1, '
                   'max(updated_at) AS t2 FROM registry.%I WHERE deleted_at IS NULL) q', p_layer) INTO scan;
    k := ROW(p_layer, scan.x1, scan.y1, scan.x2, scan.y2, scan.l1, scan.b1, scan.l2, scan.b2, scan.t1, scan.t2,
             now())::registry.collection_extent;
  END IF;
  IF locked THEN
    UPDATE registry.collection_extent e SET x_min = k.x_min, y_min = k.y_min, x_max = k.x_max, y_max = k.y_max,
      lon_min = k.lon_min, lat_min = k.lat_min, lon_max = k.lon_max, lat_max = k.lat_max, t_min = k.t_min,
      t_max = k.t_max, computed_at = k.computed_at
    WHERE e.layer = p_layer;
  END IF;
  IF (SELECT relkind FROM pg_class WHERE oid = to_regclass(format('registry.%I', p_layer))) IN ('r', 'p') THEN
    k.t_max := NULL;   -- a layer is written to: its interval is open at the end (writes do not record it)
  END IF;
  RETURN k;
END
$fn$;

-- Track every collection there is now: layers (tables with geom, updated_at, deleted_at) and result views.
DO $do$
DECLARE
  r record;
BEGIN
  FOR r IN
    WITH cols AS (
      SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname = 'registry' AND c.relkind IN ('r', 'p', 'v')
        AND NOT c.relispartition
        AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped
             AND a.attname IN ('geom', 'updated_at', 'deleted_at')) = 3
    ), deps AS (   -- the tables each view reads
      SELECT DISTINCT v.relname AS view, d.refobjid AS base
      FROM cols v JOIN pg_rewrite w ON w.ev_class = v.oid JOIN pg_depend d ON d.objid = w.oid
      JOIN pg_class b ON b.oid = d.refobjid
      WHERE v.relkind = 'v' AND d.refobjid <> v.oid AND b.relkind IN ('r', 'p')
    )
    SELECT t.oid AS tbl, t.relname IN (SELECT relname FROM cols WHERE relkind IN ('r', 'p')) AS is_layer,
           coalesce(array_agg(deps.view ORDER BY deps.view) FILTER (WHERE deps.view IS NOT NULL), '{}') AS views
    FROM pg_class t LEFT JOIN deps ON deps.base = t.oid
    WHERE t.oid IN (SELECT oid FROM cols WHERE relkind IN ('r', 'p')) OR t.oid IN (SELECT base FROM deps)
    GROUP BY t.oid, t.relname
  LOOP
    PERFORM registry.track_extent(r.tbl::regclass, r.views, r.is_layer);
  END LOOP;
END
$do$;
"""

DOWN = r"""
DO $do$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT DISTINCT tgrelid::regclass AS tbl FROM pg_trigger
           WHERE tgname IN ('extent_ins', 'extent_upd', 'extent_del', 'extent_trunc', 'extent_base') LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS extent_ins ON %1$s; DROP TRIGGER IF EXISTS extent_upd ON %1$s; '
                   'DROP TRIGGER IF EXISTS extent_del ON %1$s; DROP TRIGGER IF EXISTS extent_trunc ON %1$s; '
                   'DROP TRIGGER IF EXISTS extent_base ON %1$s', r.tbl);
  END LOOP;
END
$do$;
DROP FUNCTION registry.collection_extent_current(text);
DROP FUNCTION registry.track_extent(regclass, text[], boolean);
DROP FUNCTION registry.extent_on_base_write();
DROP FUNCTION registry.extent_on_layer_write();
DROP FUNCTION registry.extent_recompute(text[]);
DROP FUNCTION registry.extent_crs84(float8, float8, float8, float8, integer);
DROP TABLE registry.extent_tracked, registry.collection_extent_change, registry.collection_extent;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
