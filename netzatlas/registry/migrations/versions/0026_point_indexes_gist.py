"""Point layers get a GiST spatial index again (revision 0011 undone), for the bulk loads it serves.

A first load of at least 100,000 features drops the spatial index and builds it after the COPY
(``store._drop_secondary_indexes``). GiST builds sorted (PostGIS ≥ 3.1 sorts 2D geometries before building), SP-GiST
inserts one by one: for 1,000,000 streetlights the build took 1.21 s with GiST and 2.06 s with SP-GiST (measured, same
rows, same server). Kept up row by row, SP-GiST stays the cheaper one (1,000,000 inserted points: 3.35 s against 4.54
s with GiST, ~0.12 s per 100,000) — the price of this revision on writes into a layer larger than the write, where
the index is not rebuilt. GiST is also what ogr2ogr and QGIS create.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _revision_0011():  # noqa: ANN202 — the module of revision 0011, whose index swap and create_layer this reverses
    path = Path(__file__).with_name("0011_point_indexes.py")
    spec = importlib.util.spec_from_file_location("netzatlas_revision_0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    r0011 = _revision_0011()
    op.get_bind().connection.driver_connection.execute(
        r0011.SWAP.format(old="spgist", new="gist") + r0011._create_layer(False))


def downgrade() -> None:
    r0011 = _revision_0011()
    op.get_bind().connection.driver_connection.execute(
        r0011.SWAP.format(old="gist", new="spgist") + r0011._create_layer(True))
