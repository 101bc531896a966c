"""Run Alembic programmatically, so ``oms migrate`` works from an installed package."""

from __future__ import annotations

import logging
from pathlib import Path

logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command
from alembic.config import Config

from oms.db import normalise_url

HERE = Path(__file__).parent


def alembic_config(database_url: str, *, schema: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def upgrade(database_url: str, *, schema: str | None = None, revision: str = "head") -> None:
    url = normalise_url(database_url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url, schema=schema), revision)
