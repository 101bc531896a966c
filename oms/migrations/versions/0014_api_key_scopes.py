"""Scoped API keys that may expire: ``api_keys.scopes`` (the scopes a key holds, written out, space-separated)
and ``api_keys.expires_at``. Every existing key gets ``full`` as it is today, written out here rather than read
from oms/auth/scopes.py: a scope added later must not be granted to these keys by re-running this file
(docs/decisions.md, "Scoped API keys").

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# ``full`` on the day of this migration.
FULL = "customers:write money:write read wallets:write webhooks:write"


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.String(length=500), nullable=False, server_default=FULL))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    # The default was only for the keys that exist: a new key's scopes are always given (AuthService.create_key).
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("scopes", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("scopes")
