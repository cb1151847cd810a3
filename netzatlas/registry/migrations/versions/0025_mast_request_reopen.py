"""A mast request set back from a decision (agreed / rejected) to an open status is no longer decided, on every
write path: ``decided_on`` is cleared and the ``outcome`` too unless the same write gives a new one (the earlier
decision stays in the history). A PATCH through the API kept the old decision date and outcome on a reopened
request; ``netzatlas mobile request decide`` clears the whole decision record itself (reasoning, alternatives, the
operator's answer) — the API leaves those to the client, which sends what it wants kept or cleared.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_HEAD = """
CREATE OR REPLACE FUNCTION registry.mast_request_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- refused as a check violation (a 4xx for API clients), before the date arithmetic could overflow
  IF NEW.coordination_weeks NOT BETWEEN 1 AND 104 THEN
    RAISE EXCEPTION 'coordination_weeks must be between 1 and 104, not %', NEW.coordination_weeks
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.received_on NOT BETWEEN DATE '1990-01-01' AND DATE '2200-01-01' THEN
    RAISE EXCEPTION 'received_on % is not a plausible date of receipt', NEW.received_on
      USING ERRCODE = 'check_violation';
  END IF;
  NEW.deadline := NEW.received_on + 7 * NEW.coordination_weeks;
"""

_TAIL = """
  IF NEW.status IN ('agreed', 'rejected') AND NEW.decided_on IS NULL THEN
    NEW.decided_on := current_date;
  END IF;
  RETURN NEW;
END $$;
"""

_REOPEN = """
  -- reopened: the decision of the closed request is no longer the request's (the history keeps it)
  IF TG_OP = 'UPDATE' AND OLD.status IN ('agreed', 'rejected') AND NEW.status NOT IN ('agreed', 'rejected') THEN
    IF NEW.outcome IS NOT DISTINCT FROM OLD.outcome THEN NEW.outcome := NULL; END IF;
  END IF;
  IF NEW.status NOT IN ('agreed', 'rejected') THEN
    NEW.decided_on := NULL;
  END IF;
"""


def upgrade() -> None:
    """The trigger function with the reopening rule."""
    op.execute(_HEAD + _REOPEN + _TAIL)


def downgrade() -> None:
    """The function of revision 0019."""
    op.execute(_HEAD + _TAIL)
