"""TypeIDs: ``<prefix>_<26 lowercase Crockford base32 chars of a UUIDv7>``."""

from __future__ import annotations

from typeid import TypeID


def new_id(prefix: str) -> str:
    return str(TypeID(prefix=prefix))


def is_valid_id(value: str, prefix: str) -> bool:
    """True when ``value`` is a well-formed TypeID with this prefix (malformed ids are simply unknown)."""
    head, sep, _ = value.rpartition("_")
    if not sep or head != prefix:
        return False
    try:
        TypeID.from_string(value)
    except Exception:
        return False
    return True
