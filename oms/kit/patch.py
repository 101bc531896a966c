"""PATCH semantics shared by every updatable resource."""

from __future__ import annotations

from typing import Any


def merge_metadata(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Shallow-merge ``changes`` into ``current``; a ``null`` value removes its key (docs/decisions.md)."""
    merged = {**current, **changes}
    return {key: value for key, value in merged.items() if value is not None}
