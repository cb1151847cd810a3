"""Market-exploration answers stored for speed: ``broadband_supply`` partitioned by source.

``registry.broadband_supply`` becomes a table partitioned by ``source`` (LIST): every market-exploration source
(``mev:<procedure>:<operator>``) has a partition of its own, every other source (manual entries, the API, file
imports) lives in the DEFAULT partition. A market-exploration import writes one operator's answers as a fresh
table — loaded without indexes or triggers, its rows' history written in one statement — and attaches it in place
of the previous partition of that source; the indexes are built once per partition and the address foreign key is
checked by one join at ATTACH instead of row by row (``registry.gigabit_store.write_mev_outcome``). The columns,
check constraints, value references, history triggers and the change feed are the same as before; only the primary
key now includes the partition key: ``(id, source)`` (ids are uuids; PostgreSQL requires the partition key in a
unique constraint of a partitioned table).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_KEYS = """
ALTER TABLE registry.broadband_supply ADD CONSTRAINT broadband_supply_pkey PRIMARY KEY ({pk});
ALTER TABLE registry.broadband_supply ADD CONSTRAINT broadband_supply_source_external_id_key
  UNIQUE (source, external_id);
CREATE INDEX broadband_supply_address_idx ON registry.broadband_supply (address_id);
CREATE INDEX broadband_supply_operator_idx ON registry.broadband_supply (operator);
ALTER TABLE registry.broadband_supply ADD CONSTRAINT broadband_supply_address_id_fkey
  FOREIGN KEY (address_id) REFERENCES registry.fibre_address (id);
SELECT audit.track('registry.broadband_supply');
SELECT registry.use_value_references('registry.broadband_supply');
"""

#: the table as it was, renamed (its indexes and constraints too, their names are reused)
_SET_ASIDE = """
ALTER TABLE registry.broadband_supply RENAME TO broadband_supply_before_0018;
ALTER TABLE registry.broadband_supply_before_0018 RENAME CONSTRAINT broadband_supply_pkey TO bs0018_pkey;
ALTER TABLE registry.broadband_supply_before_0018
  RENAME CONSTRAINT broadband_supply_source_external_id_key TO bs0018_source_external_id_key;
ALTER INDEX registry.broadband_supply_address_idx RENAME TO bs0018_address_idx;
ALTER INDEX registry.broadband_supply_operator_idx RENAME TO bs0018_operator_idx;
"""

UP = (
    _SET_ASIDE
    + """
CREATE TABLE registry.broadband_supply (LIKE registry.broadband_supply_before_0018
  INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS INCLUDING STORAGE) PARTITION BY LIST (source);
CREATE TABLE registry.broadband_supply_default PARTITION OF registry.broadband_supply DEFAULT;
DO $$
DECLARE s text;
BEGIN
  FOR s IN SELECT DISTINCT source FROM registry.broadband_supply_before_0018 WHERE source LIKE 'mev:%' LOOP
    EXECUTE format('CREATE TABLE registry.%I PARTITION OF registry.broadband_supply FOR VALUES IN (%L)',
                   registry.supply_partition_name(s, 'm0018'), s);
  END LOOP;
END $$;
INSERT INTO registry.broadband_supply SELECT * FROM registry.broadband_supply_before_0018;
UPDATE registry.value_reference SET table_name = 'registry.broadband_supply'::regclass
 WHERE table_name = 'registry.broadband_supply_before_0018'::regclass;
DROP TABLE registry.broadband_supply_before_0018;
"""
    + _KEYS.format(pk="id, source")
)

FUNCTIONS = """
CREATE FUNCTION registry.supply_partition_name(source text, tag text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT 'broadband_supply_' || left(md5(source), 12) || '_' || tag $$;
COMMENT ON FUNCTION registry.supply_partition_name(text, text) IS
  'the name of a partition of broadband_supply holding one market-exploration source (tag: the batch that wrote it)';
"""

DOWN = (
    _SET_ASIDE
    + """
CREATE TABLE registry.broadband_supply (LIKE registry.broadband_supply_before_0018
  INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS INCLUDING STORAGE);
INSERT INTO registry.broadband_supply SELECT * FROM registry.broadband_supply_before_0018;
UPDATE registry.value_reference SET table_name = 'registry.broadband_supply'::regclass
 WHERE table_name = 'registry.broadband_supply_before_0018'::regclass;
DROP TABLE registry.broadband_supply_before_0018 CASCADE;
"""
    + _KEYS.format(pk="id")
    + """
DROP FUNCTION registry.supply_partition_name(text, text);
"""
)


def upgrade() -> None:
    op.execute(FUNCTIONS)
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
