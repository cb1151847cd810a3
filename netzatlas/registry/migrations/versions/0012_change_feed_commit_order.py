"""The change feed in commit order: each change records its transaction; the feed serves finished transactions.

``audit.change.seq`` is handed out when a row is written, not when its transaction commits: a 50,000-row sync
that started first commits after the short PATCHes that started later, with smaller numbers. A consumer paging
by ``seq`` had already passed them and skipped them for ever. Now each change records its top-level transaction
id (``xact xid8``, the column default ``pg_current_xact_id()``: the history triggers insert with a column list,
so the default fills it; inside a savepoint it is still the top-level id). The feed serves only changes whose
transaction is below the oldest transaction still running (``audit.feed_horizon()``), ordered by
``(xact, seq)``; the cursor is the position ``(xact, seq)`` of the last change served.

Why this neither skips nor repeats (docs/architecture.md, "Versions and history"):

* Transaction ids are handed out in increasing order, and the horizon is the smallest id still running when the
  reader's snapshot was taken (``pg_snapshot_xmin``). Every transaction below it has finished: committed (its
  changes are visible in that snapshot) or aborted (its changes never become visible). A transaction that starts
  later gets an id at or above the horizon. So the set of visible changes below a horizon never changes again.
* The cursor is a position below an earlier horizon; every change that becomes visible later has a transaction
  id at or above that horizon, hence a larger position. Paging with ``(xact, seq) > cursor`` therefore sees each
  change exactly once, and every reader sees the same total order, whatever cursor it starts from.
* A transaction that took its id early and commits late holds the horizon down until it ends; the changes of
  later transactions wait behind it instead of being passed by. A savepoint rolled back takes its rows with it;
  the rows of savepoints released keep the top-level id. xid8 is 64 bits: no wraparound.

Rows written before this revision get ``xact = 0``: they sort first, in their old ``seq`` order.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UP = """
-- '0' for the rows already there (a constant default: no table rewrite), then the transaction of each new row
ALTER TABLE audit.change ADD COLUMN xact xid8 NOT NULL DEFAULT '0';
ALTER TABLE audit.change ALTER COLUMN xact SET DEFAULT pg_current_xact_id();
COMMENT ON COLUMN audit.change.xact IS
  'top-level transaction of the change (0: written before revision 0012); the feed order is (xact, seq)';
CREATE INDEX change_xact_seq_idx ON audit.change (xact, seq);

-- the oldest transaction still running: every change of a smaller transaction is final (committed or aborted)
CREATE FUNCTION audit.feed_horizon() RETURNS xid8 LANGUAGE sql STABLE
  AS $$ SELECT pg_snapshot_xmin(pg_current_snapshot()) $$;

-- the changes of the given tables after position (after_xact, after_seq) and below the horizon, in feed order;
-- a plain SQL function (not STRICT), so it is inlined and the index on (xact, seq) serves ORDER BY … LIMIT
CREATE FUNCTION audit.feed(after_xact xid8, after_seq bigint, tables text[], horizon xid8)
  RETURNS SETOF audit.change LANGUAGE sql STABLE AS $$
  SELECT * FROM audit.change c
   WHERE (c.xact, c.seq) > (after_xact, after_seq) AND c.xact < horizon AND c.table_name = ANY (tables)
   ORDER BY c.xact, c.seq
$$;
"""

DOWN = """
DROP FUNCTION audit.feed(xid8, bigint, text[], xid8);
DROP FUNCTION audit.feed_horizon();
DROP INDEX audit.change_xact_seq_idx;
ALTER TABLE audit.change DROP COLUMN xact;
"""


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute(UP)


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(DOWN)
