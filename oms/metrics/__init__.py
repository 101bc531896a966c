"""Prometheus metrics at ``GET /metrics`` (README, "Metrics"): what every process counts as it serves
(``registry``: requests by route and status, rate-limit refusals, database pools), what the database says at
each scrape (``collector``: queue depths and oldest ages, webhook lag, chain lag, transfers awaiting
confirmations), and who may read them (``endpoint``).

Several API processes (granian's workers) count into one directory (``PROMETHEUS_MULTIPROC_DIR``, set by
``oms serve`` before its workers start) and any one of them answers a scrape with the sum of all.
"""
