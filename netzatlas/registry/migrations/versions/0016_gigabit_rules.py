"""Gigabit rules as published: pre-marketing, Gewerbegebiete, overdue plans, validity warnings, funding-area names
and cost assumptions.

- ``broadband_supply.vorvermarktung``: the operator states that a plan is in pre-marketing (kept and shown; it
  does not change whether the plan counts, the programme's binding rule decides that).
- ``fibre_address.business_area``: the address lies in a Gewerbegebiet — an OSM ``landuse=commercial / industrial /
  retail`` area (set by the OSM importer) or flagged so by the city. The socio-economic "business" category of a
  programme needs it (as a rule or as a hint, per programme).
- ``gigabit_classification.overdue_plan`` / ``pre_marketing``: per address, a plan whose milestone had passed on the
  reference date (it does not count), and a counted plan in pre-marketing; both also in ``gigabit_result``.
- ``gigabit_snapshot.warning``: e.g. the reference date outside the programme's validity.
- ``funding_area``: name, district, main streets, street and lead-in metres and the cost assumptions of each area
  (so a GeoPackage or an API reader sees what the cost rests on); also in ``funding_area_result``.

The result views are extended in place (columns appended to whatever definition the earlier revisions left).

``gigabit_classification`` becomes a table partitioned by snapshot (LIST on ``snapshot_id``): a snapshot is written
as one ``CREATE TABLE … AS`` of the classification statement (which PostgreSQL runs with parallel workers; an
``INSERT … SELECT`` runs serially) and attached as a partition; replacing a snapshot drops its partition
instead of deleting a million rows. The row-by-row foreign keys are gone: the one to the snapshot is kept on the
partitioned table (checked set-based when a partition is attached), the one to ``fibre_address`` is dropped — the
rows are made from the registry's addresses by the same statement, and ``gigabit_result`` joins the addresses, so a
hard-deleted address simply drops out of the result. The primary key (snapshot, address) is dropped too: the
statement groups by address, so each address occurs once per snapshot by construction. Measured in
bench/bench_gigabit.py and docs/gigabit.md.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

import re

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UP = """
ALTER TABLE registry.broadband_supply ADD COLUMN vorvermarktung boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN registry.broadband_supply.vorvermarktung IS
  'the operator states the plan is in pre-marketing (Vorvermarktung); shown, the binding flag decides if it counts';
ALTER TABLE registry.fibre_address ADD COLUMN business_area boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN registry.fibre_address.business_area IS
  'in a Gewerbegebiet: OSM landuse=commercial/industrial/retail (OSM importer) or flagged by the city';
SELECT audit.track('registry.broadband_supply');
SELECT audit.track('registry.fibre_address');
ALTER TABLE registry.gigabit_classification
  ADD COLUMN overdue_plan boolean NOT NULL DEFAULT false,
  ADD COLUMN pre_marketing boolean NOT NULL DEFAULT false;
ALTER TABLE registry.gigabit_snapshot ADD COLUMN warning text;
ALTER TABLE registry.funding_area
  ADD COLUMN name text, ADD COLUMN district text, ADD COLUMN main_streets text,
  ADD COLUMN street_m double precision, ADD COLUMN lead_in_m double precision,
  ADD COLUMN eur_per_m double precision, ADD COLUMN eur_per_connection double precision,
  ADD COLUMN max_addresses integer, ADD COLUMN max_cost_eur double precision;
"""

DOWN = """
ALTER TABLE registry.funding_area DROP COLUMN name, DROP COLUMN district, DROP COLUMN main_streets,
  DROP COLUMN street_m, DROP COLUMN lead_in_m, DROP COLUMN eur_per_m, DROP COLUMN eur_per_connection,
  DROP COLUMN max_addresses, DROP COLUMN max_cost_eur;
ALTER TABLE registry.gigabit_snapshot DROP COLUMN warning;
ALTER TABLE registry.gigabit_classification DROP COLUMN overdue_plan, DROP COLUMN pre_marketing;
ALTER TABLE registry.fibre_address DROP COLUMN business_area;
ALTER TABLE registry.broadband_supply DROP COLUMN vorvermarktung;
SELECT audit.track('registry.broadband_supply');
SELECT audit.track('registry.fibre_address');
"""

#: view → (table whose alias the new columns come from, the new columns)
VIEW_COLUMNS = {
    "registry.gigabit_result": ("registry.gigabit_classification", ["overdue_plan", "pre_marketing"]),
    "registry.funding_area_result": ("registry.funding_area", [
        "name", "district", "main_streets", "street_m", "lead_in_m", "eur_per_m", "eur_per_connection",
        "max_addresses", "max_cost_eur"]),
}


PARTITION_UP = """
ALTER TABLE registry.gigabit_classification RENAME TO gigabit_classification_plain;
CREATE TABLE registry.gigabit_classification (LIKE registry.gigabit_classification_plain INCLUDING DEFAULTS)
  PARTITION BY LIST (snapshot_id);
ALTER TABLE registry.gigabit_classification ADD CONSTRAINT gigabit_classification_snapshot_fkey
  FOREIGN KEY (snapshot_id) REFERENCES registry.gigabit_snapshot (id) ON DELETE CASCADE;
CREATE FUNCTION registry.gigabit_partition(snapshot text) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT 'gigabit_classification_' || substr(md5(snapshot), 1, 16) $$;
COMMENT ON FUNCTION registry.gigabit_partition(text) IS 'the name of the partition holding one snapshot';
DO $$
DECLARE s text;
BEGIN
  FOR s IN SELECT DISTINCT snapshot_id FROM registry.gigabit_classification_plain LOOP
    EXECUTE format('CREATE TABLE registry.%I PARTITION OF registry.gigabit_classification FOR VALUES IN (%L)',
                   registry.gigabit_partition(s), s);
  END LOOP;
END $$;
INSERT INTO registry.gigabit_classification SELECT * FROM registry.gigabit_classification_plain;
"""

PARTITION_DOWN = """
CREATE TABLE registry.gigabit_classification_plain (LIKE registry.gigabit_classification INCLUDING DEFAULTS);
INSERT INTO registry.gigabit_classification_plain SELECT * FROM registry.gigabit_classification;
ALTER TABLE registry.gigabit_classification_plain
  ADD CONSTRAINT gigabit_classification_plain_pkey PRIMARY KEY (snapshot_id, address_id),
  ADD CONSTRAINT gigabit_classification_address_id_fkey FOREIGN KEY (address_id) REFERENCES registry.fibre_address (id),
  ADD CONSTRAINT gigabit_classification_snapshot_id_fkey FOREIGN KEY (snapshot_id)
    REFERENCES registry.gigabit_snapshot (id) ON DELETE CASCADE;
"""

PARTITION_DOWN_END = """
DROP TABLE registry.gigabit_classification;
DROP FUNCTION registry.gigabit_partition(text);
ALTER TABLE registry.gigabit_classification_plain RENAME TO gigabit_classification;
ALTER TABLE registry.gigabit_classification RENAME CONSTRAINT gigabit_classification_plain_pkey
  TO gigabit_classification_pkey;
"""


def _repoint_views(conn, old: str, new: str) -> None:  # noqa: ANN001 - a psycopg connection
    """Views reading ``registry.<old>`` read ``registry.<new>`` (same columns) instead."""
    rows = conn.execute(
        "SELECT DISTINCT v.oid::regclass::text AS v FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
        "JOIN pg_class v ON v.oid = r.ev_class WHERE d.refobjid = %s::regclass AND v.oid <> d.refobjid",
        [f"registry.{old}"]).fetchall()
    for row in rows:
        view = row[0] if not isinstance(row, dict) else row["v"]
        got = conn.execute("SELECT pg_get_viewdef(%s::regclass)", [view]).fetchone()
        definition = (got[0] if not isinstance(got, dict) else next(iter(got.values()))).rstrip().rstrip(";")
        definition = re.sub(rf"\b{re.escape(old)}\b", new, definition)
        conn.execute(f"CREATE OR REPLACE VIEW {view} AS {definition}")


def _split(definition: str) -> tuple[str, str]:
    """A simple view's definition as (select list, the top-level ``FROM …``)."""
    m = re.search(r"\n\s*FROM\s", definition)
    if m is None:  # pragma: no cover - every result view has a FROM
        raise RuntimeError("view definition without FROM")
    return definition[:m.start()], definition[m.start():]


def _alias(definition: str, table: str) -> str:
    m = re.search(re.escape(table) + r"\s+(?:AS\s+)?(\w+)", definition)
    return m.group(1) if m else table


def _views(conn, add: bool) -> None:  # noqa: ANN001 - a psycopg connection
    for view, (table, cols) in VIEW_COLUMNS.items():
        row = conn.execute("SELECT pg_get_viewdef(%s::regclass)", [view]).fetchone()
        definition = (row[0] if not isinstance(row, dict) else next(iter(row.values()))).rstrip().rstrip(";")
        head, tail = _split(definition)
        alias = _alias(definition, table)
        if add:
            head += "".join(f",\n    {alias}.{c}" for c in cols)
            conn.execute(f"CREATE OR REPLACE VIEW {view} AS {head}{tail}")
        else:
            for c in cols:
                head = re.sub(rf",\s*{re.escape(alias)}\.{c}\b(?=\s*(,|$))", "", head)
            conn.execute(f"DROP VIEW {view}; CREATE VIEW {view} AS {head}{tail}")


def upgrade() -> None:
    conn = op.get_bind().connection.driver_connection
    conn.execute(UP)
    conn.execute(PARTITION_UP)
    _repoint_views(conn, "gigabit_classification_plain", "gigabit_classification")
    conn.execute("DROP TABLE registry.gigabit_classification_plain")
    _views(conn, add=True)


def downgrade() -> None:
    conn = op.get_bind().connection.driver_connection
    _views(conn, add=False)
    conn.execute(PARTITION_DOWN)
    _repoint_views(conn, "gigabit_classification", "gigabit_classification_plain")
    conn.execute(PARTITION_DOWN_END)
    conn.execute(DOWN)
