"""Run Alembic programmatically, so ``oms migrate`` works from an installed package."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

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


def upgrade(database_url: str, *, schema: str | None = None, revision: str = "head") -> list[tuple[str, str]]:
    """Migrate to ``revision``; returns the revisions applied, oldest first, each with its description."""
    url = normalise_url(database_url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    applied: list[tuple[str, str]] = []

    def note(*, step: Any, **_: Any) -> None:
        if step.is_upgrade:
            applied.append((step.up_revision_id, _summary(getattr(step.up_revision, "doc", None) or "")))

    config = alembic_config(database_url, schema=schema)
    config.attributes["on_version_apply"] = note
    command.upgrade(config, revision)
    return applied


def _summary(doc: str) -> str:
    """A revision's docstring as one short line: its first sentence."""
    text = " ".join(doc.strip().split("\n\n")[0].split())
    sentence = text.split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= 100 else sentence[:99] + "…"


def downgrade_to_base(database_url: str, *, schema: str | None = None) -> None:
    """Every migration undone, newest first: no table of OMS's is left (`oms sandbox reset`)."""
    command.downgrade(alembic_config(database_url, schema=schema), "base")
