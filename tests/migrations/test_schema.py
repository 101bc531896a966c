"""The schema the migrations build is the one the models declare (oms/models, oms/migrations): Alembic's
comparison of the migrated database with the models' metadata finds nothing to change, on either database.
A model changed without its migration (or the reverse) fails here, not in production."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from oms.context import AppContext
from oms.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_is_the_models_schema(ctx: AppContext) -> None:
    async with ctx.db.writer.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []
