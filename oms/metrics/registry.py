"""The metrics each process counts. Created at import, so ``PROMETHEUS_MULTIPROC_DIR`` (``multiprocess``)
must be set before this module is first imported in a worker: ``oms serve`` sets it before its workers start."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds, from a fast-lane balance read (about a millisecond) to a statement timeout (10 s).
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Its _count series is the request count (by method, route and status); no separate counter is kept.
REQUEST_SECONDS = Histogram(
    "oms_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status",
    ["method", "route", "status"],
    buckets=_SECONDS,
)
RATE_LIMIT_REFUSALS = Counter(
    "oms_rate_limit_refusals",
    "Requests answered 429: over a rate limit (reason 'limit', by family) or a locked-out sign-in ('lockout')",
    ["family", "reason"],
)
DB_POOL_CONNECTIONS = Gauge(
    "oms_db_pool_connections",
    "Database connections of the API processes' pools (orm: SQLAlchemy's; hot: the fast lane's), by state",
    ["pool", "state"],
    multiprocess_mode="livesum",
)
RECONCILE_DIFFERENCES = Gauge(
    "oms_reconcile_differences",
    "Addresses whose chain balance differed from the ledger at the worker's last reconciliation",
    multiprocess_mode="mostrecent",
)
RECONCILE_LAST_RUN = Gauge(
    "oms_reconcile_last_run_timestamp_seconds",
    "When the worker last reconciled the ledger with the chain (Unix time)",
    multiprocess_mode="mostrecent",
)
