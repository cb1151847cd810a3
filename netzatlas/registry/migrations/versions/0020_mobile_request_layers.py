"""Mast requests as a collection; monument list and municipal property layers.

(Placeholder: reserved for this change; it does nothing until its SQL is written.)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
