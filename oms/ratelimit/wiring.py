"""Builds the rate limits and the lockout for the composition root (oms/context.py)."""

from __future__ import annotations

from dataclasses import dataclass

from limits.aio.storage import MemoryStorage, Storage
from limits.storage import storage_from_string

from oms.config import ConfigurationError, Settings
from oms.db import Database
from oms.kit.address import ClientAddress
from oms.kit.crypto import derive_key
from oms.kit.time import Clock
from oms.ratelimit.counters import Counters, LimitsCounters
from oms.ratelimit.lockout import Lockout
from oms.ratelimit.policy import Family, families
from oms.ratelimit.postgres import PostgresStorage


@dataclass
class RateLimiting:
    enabled: bool
    families: dict[str, Family]
    counters: Counters
    addresses: ClientAddress
    lockout: Lockout


def build_rate_limiting(settings: Settings, *, db: Database, clock: Clock, root: bytes) -> RateLimiting:
    return RateLimiting(
        enabled=settings.rate_limits,
        families=families(settings),
        counters=_counters(settings, db),
        addresses=ClientAddress(settings.trusted_proxies),
        lockout=Lockout(db=db, clock=clock, key=derive_key(root, "lockout-subjects-hmac"), settings=settings),
    )


def _counters(settings: Settings, db: Database) -> Counters:
    store = settings.rate_limit_store
    if store == "postgresql":
        return PostgresStorage(db, settings)
    if store == "memory":
        return LimitsCounters(MemoryStorage())
    storage = storage_from_string(store)  # redis://… as async+redis://… (its async client: coredis)
    if not isinstance(storage, Storage):
        raise ConfigurationError(f"OMS_RATE_LIMIT_STORAGE is not an async storage of limits: {store}")
    return LimitsCounters(storage)
